// --device parsing and availability checks.
#include "sdn/device/device.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <string>

namespace {

std::string message_of(const std::string& name) {
  try {
    sdn::checked_device(name);
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "";
}

TEST(CheckedDevice, CpuAlwaysWorks) {
  EXPECT_TRUE(sdn::checked_device("cpu").is_cpu());
}

TEST(CheckedDevice, UnknownNamesAreRejectedByName) {
  EXPECT_NE(
      message_of("gpu").find("--device gpu: expected cpu, cuda"),
      std::string::npos)
      << message_of("gpu");
  EXPECT_NE(message_of("cuda:x").find("--device cuda:x"), std::string::npos);
  EXPECT_NE(message_of("").find("--device"), std::string::npos);
}

TEST(CheckedDevice, CudaOnlyWhereAvailable) {
  if (torch::cuda::is_available()) {
    EXPECT_TRUE(sdn::checked_device("cuda").is_cuda());
    const auto n = static_cast<int>(torch::cuda::device_count());
    EXPECT_EQ(
        sdn::checked_device("cuda:" + std::to_string(n - 1)).index(), n - 1);
    EXPECT_NE(
        message_of("cuda:" + std::to_string(n)).find("visible"),
        std::string::npos);
  } else {
    EXPECT_NE(
        message_of("cuda").find("--device cuda: CUDA is not available"),
        std::string::npos)
        << message_of("cuda");
    EXPECT_NE(
        message_of("cuda:1").find("CUDA is not available"), std::string::npos);
  }
}

} // namespace
