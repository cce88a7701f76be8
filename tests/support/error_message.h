// The message of the sdn::Error a call throws, for tests of error paths.
#pragma once

#include "sdn/util/error.h"

#include <functional>
#include <string>

namespace sdn::testing {

/// What `f` throws as sdn::Error, or "" when it returns normally. Any other
/// exception propagates (and fails the test that called this).
inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "";
}

} // namespace sdn::testing
