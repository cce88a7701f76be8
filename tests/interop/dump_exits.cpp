// sdn_dump_exits: every exit's logits of an sdn network as .npy, for the
// interop tests (tests/e2e/python_mirror.sh; docs/interop.md): what another
// implementation of the networks must reproduce.
//
//   sdn_dump_exits --arch A[,A...] --classes K --channels C[,C...]
//                  --side S[,S...] [--cnn] [--seed N] [--batch B] --out DIR
// for every combination of the listed architectures, channels and sides
// (in that nesting, the i-th with seed N + i) builds the network `sdn
// train` builds for (A, K, [C, S, S]) (the plain CNN with --cnn), gives
// every BatchNorm random running statistics and affine parameters, every
// bias, alpha and BN counter random values (so that eval mode and every
// tensor matter), and writes to DIR/A-CxS (DIR/A-CxS-cnn):
// weights.safetensors (as `sdn export` does, with the metadata of a
// synthetic-data checkpoint), weights.pt (the `--format pytorch` dict),
// input.npy (float32 [B, C, S, S], standard normal) and exitI.npy (float32
// [B, K], the eval-mode logits of exit I, ICs shallowest first, final last).
// One process for many networks: loading LibTorch costs about a second.
//
//   sdn_dump_exits --checkpoint CK --input IN.npy --out DIR
// loads checkpoint CK (as every sdn command does) and writes DIR/exitI.npy
// for the float32 input IN.npy [N, C, H, W] (the checkpoint's input shape).
//
// Runs on the CPU with --threads threads (default 1). Errors: `error: ...`
// on stderr, exit status 1.
#include "sdn/analysis/npy.h"
#include "sdn/checkpoint/checkpoint.h"
#include "sdn/checkpoint/export.h"
#include "sdn/device/threads.h"
#include "sdn/network/sdn_network.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <CLI/CLI.hpp>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

struct Options {
  std::vector<std::string> archs;
  int64_t classes = 10;
  std::vector<int64_t> channels = {3};
  std::vector<int64_t> sides = {32};
  bool cnn = false;
  uint64_t seed = 1;
  int64_t batch = 2;
  std::string checkpoint;
  std::string input;
  std::string out;
  int threads = 1;
};

// Random values for everything the initialisation leaves constant (BN
// statistics and affine parameters, biases, counters), linear weights of
// unit gain and a fresh alpha, drawn from the default generator in module
// order.
void randomise(sdn::network::SdnNetwork& net) {
  torch::NoGradGuard no_grad;
  for (auto& m : net->modules(/*include_self=*/false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0, 0.2);
      bn->running_mean.normal_(0, 0.2);
      bn->running_var.uniform_(0.5, 2.0);
      bn->num_batches_tracked.random_(1, 1000);
    } else if (auto* conv = m->as<torch::nn::Conv2d>()) {
      if (conv->bias.defined()) {
        conv->bias.normal_(0, 0.1);
      }
    } else if (auto* fc = m->as<torch::nn::Linear>()) {
      // Variance-preserving weights: VGG's N(0, 0.01) would leave logits
      // that are mostly bias.
      fc->weight.normal_(
          0, 1.0 / std::sqrt(static_cast<double>(fc->weight.size(1))));
      fc->bias.normal_(0, 0.1);
    }
  }
  for (const auto& ic : net->ics()) {
    if (ic->alpha().defined()) {
      ic->alpha().uniform_(0, 1);
    }
  }
}

void write_tensor(const std::string& path, const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat).contiguous();
  const float* p = c.data_ptr<float>();
  sdn::analysis::write_npy(
      path, std::vector<float>(p, p + c.numel()), c.sizes().vec());
}

void write_exits(
    sdn::network::SdnNetwork& net,
    const torch::Tensor& input,
    const std::string& out) {
  net->eval();
  torch::NoGradGuard no_grad;
  const auto exits = net->forward(input);
  for (size_t i = 0; i < exits.size(); ++i) {
    write_tensor(out + "/exit" + std::to_string(i) + ".npy", exits[i]);
  }
}

// One random network (arch, channels, side) into `out`.
void write_random(
    const Options& o,
    const std::string& arch,
    int64_t channels,
    int64_t side,
    uint64_t seed,
    const std::string& out) {
  torch::manual_seed(seed);
  sdn::checkpoint::TrainConfig config;
  config.arch = arch;
  config.mode =
      o.cnn ? sdn::checkpoint::Mode::kCnn : sdn::checkpoint::Mode::kSdn;
  config.data.name = "synthetic";
  config.data.synthetic_classes = o.classes;
  config.data.synthetic_channels = channels;
  config.data.synthetic_side = side;
  sdn::network::NetworkOptions options;
  options.backbone.arch = arch;
  options.backbone.in_channels = channels;
  options.backbone.input_side = side;
  options.backbone.num_classes = o.classes;
  options.with_ics = !o.cnn;
  sdn::network::SdnNetwork net(options);
  randomise(net);
  const torch::Tensor input = torch::randn({o.batch, channels, side, side});
  sdn::make_dirs(out);

  const auto tensors = sdn::checkpoint::named_tensors(net);
  const auto meta = sdn::checkpoint::make_checkpoint_meta(
      net, config, /*epoch=*/0, sdn::checkpoint::EpochMetrics{});
  sdn::write_file_atomic(
      out + "/weights.safetensors",
      sdn::checkpoint::encode_safetensors(
          tensors, sdn::checkpoint::export_metadata(meta)));
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    dict.insert(name, tensor);
  }
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  sdn::write_file_atomic(
      out + "/weights.pt", std::string(bytes.begin(), bytes.end()));
  write_tensor(out + "/input.npy", input);
  write_exits(net, input, out);
}

void run_random(const Options& o) {
  uint64_t seed = o.seed;
  for (const auto& arch : o.archs) {
    for (const int64_t channels : o.channels) {
      for (const int64_t side : o.sides) {
        write_random(
            o,
            arch,
            channels,
            side,
            seed++,
            sdn::str_cat(
                o.out,
                "/",
                arch,
                "-",
                channels,
                "x",
                side,
                o.cnn ? "-cnn" : ""));
      }
    }
  }
}

void run_checkpoint(const Options& o) {
  sdn::checkpoint::CheckpointMeta meta;
  auto net = sdn::checkpoint::load_network(o.checkpoint, meta);
  auto array = sdn::analysis::read_npy_float32(o.input);
  sdn::check(
      array.shape.size() == 4 &&
          std::equal(
              array.shape.begin() + 1,
              array.shape.end(),
              meta.input_shape.begin()),
      o.input,
      ": expected float32 [N, ",
      meta.input_shape[0],
      ", ",
      meta.input_shape[1],
      ", ",
      meta.input_shape[2],
      "] for ",
      o.checkpoint);
  const torch::Tensor input =
      torch::from_blob(array.data.data(), array.shape, torch::kFloat).clone();
  sdn::make_dirs(o.out);
  write_exits(net, input, o.out);
}

void run(const Options& o, const CLI::App& app) {
  const bool from_checkpoint = !o.checkpoint.empty();
  if (from_checkpoint) {
    sdn::check(!o.input.empty(), "--input is required with --checkpoint");
    for (const char* name :
         {"--arch",
          "--classes",
          "--channels",
          "--side",
          "--cnn",
          "--seed",
          "--batch"}) {
      sdn::check(
          app.count(name) == 0, name, " has no effect with --checkpoint");
    }
  } else {
    sdn::check(!o.archs.empty(), "--arch or --checkpoint is required");
    sdn::check(o.input.empty(), "--input is only for --checkpoint");
    sdn::check(o.batch >= 1, "--batch must be >= 1, got ", o.batch);
  }
  sdn::configure_threads(o.threads);
  if (from_checkpoint) {
    run_checkpoint(o);
  } else {
    run_random(o);
  }
}

} // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Every exit's logits of an sdn network as .npy"};
  app.add_option("--arch", o.archs, "vgg16, resnet56, wrn32_4, mobilenet")
      ->delimiter(',');
  app.add_option("--classes", o.classes, "Classes");
  app.add_option("--channels", o.channels, "Input channels (1, 3)")
      ->delimiter(',');
  app.add_option("--side", o.sides, "Input sides (32, 64)")->delimiter(',');
  app.add_flag("--cnn", o.cnn, "The plain CNN (no ICs)");
  app.add_option("--seed", o.seed, "Seed of the weights and the input");
  app.add_option("--batch", o.batch, "Images in the random input");
  app.add_option("--checkpoint", o.checkpoint, "An sdn checkpoint directory");
  app.add_option("--input", o.input, "Float32 .npy [N, C, H, W]");
  app.add_option("--out", o.out, "Output folder")->required();
  app.add_option("--threads", o.threads, "Intra-op threads");
  try {
    app.parse(argc, argv);
    run(o, app);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
