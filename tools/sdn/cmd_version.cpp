// `sdn version`: versions of sdn and of the LibTorch it runs on, and threads.
#include "commands.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstdio>

namespace sdn::cli {

void setup_version(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "version",
      "Print sdn's and LibTorch's versions, the intra-op thread count and "
      "whether CUDA is available.\nExample: sdn version");
  sub->callback([] {
    apply_global_options();
    std::printf(
        "sdn 0.1.0\nlibtorch %s\nthreads %d\ncuda %s\n",
        TORCH_VERSION,
        at::get_num_threads(),
        torch::cuda::is_available() ? "available" : "not available");
  });
}

} // namespace sdn::cli
