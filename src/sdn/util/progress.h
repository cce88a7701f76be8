#pragma once

#include <cstdint>
#include <string>

#include "sdn/util/timer.h"

namespace sdn {

/// A progress bar on stderr with rate and ETA. Redrawn in place on a terminal;
/// on a pipe or file it prints a plain line at most every `kPlainInterval`
/// seconds. Silent when disabled (e.g. on non-zero ranks).
class Progress {
 public:
  Progress(
      std::string label,
      int64_t total,
      std::string unit = "img",
      bool enabled = true);
  ~Progress();
  /// Advances by `n` units and redraws when due.
  void advance(int64_t n, const std::string& suffix = "");
  /// Draws the final state and a newline.
  void finish(const std::string& suffix = "");

 private:
  void draw(bool final_draw, const std::string& suffix);

  std::string label_;
  int64_t total_;
  std::string unit_;
  bool enabled_;
  bool tty_;
  bool finished_ = false;
  int64_t done_ = 0;
  Timer timer_;
  double last_draw_ = 0; ///< A first line only once work took a while.
};

} // namespace sdn
