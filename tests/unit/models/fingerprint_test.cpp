// Guards checkpoints and seeds against refactoring: for every architecture,
// input channels and side, the tensor names and shapes, the initial weights
// drawn from one seed, the eval-mode logits and the cost of every piece equal
// a table recorded from the code before it was restructured.
//
// Set SDN_PRINT_FINGERPRINTS=1 to print the table rows of the current code
// (after a deliberate change of weights or costs, paste them below).
#include "sdn/network/sdn_network.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace sdn::models {
namespace {

struct Fingerprint {
  std::string arch;
  int64_t channels;
  int64_t side;
  /// FNV-1a of "name:shape;" over parameters, then buffers, in order.
  uint64_t layout;
  /// Sums over tensors i (that order) of (i + 1) * sum(t_i), of
  /// (i + 1) * sum(t_i^2), in double: a swapped or changed draw moves them.
  double weight_sum;
  double weight_squares;
  /// Sum and sum of squares of every exit's eval-mode logits.
  double logit_sum;
  double logit_squares;
  /// Sums over pieces p (stem, blocks, head) of (p + 1) * ops, macs, params.
  double ops;
  double macs;
  int64_t params;
};

// Recorded from the backbones before they shared their common code (seed 0,
// with ICs, 10 classes, the input of fixed_input()).
const std::vector<Fingerprint>& recorded() {
  static const std::vector<Fingerprint> rows = {
      // clang-format off
      {"vgg16", 1, 32, 0xd75ee24fcd620decULL,
       575921.51748142496, 836237.85831498378, 0.21285916004126193,
       0.24224506127717302, 4797478250, 2396728320, 172018518},
      {"vgg16", 1, 64, 0xe548ffbbff0bc578ULL,
       577696.95869867317, 872031.50038608653, 0.91753968119155616,
       0.5445822737921, 19315450730, 9649674240, 258633558},
      {"vgg16", 3, 32, 0xe55429a5c989df1eULL,
       576007.40211711824, 836208.12160912948, 0.080999630547012202,
       0.4518604969968712, 4802196842, 2399087616, 172020822},
      {"vgg16", 3, 64, 0xf387418ad98b2482ULL,
       577685.24652833352, 872065.36817699322, 0.97247030131984502,
       2.5990711548908658, 19334325098, 9659111424, 258635862},
      {"resnet56", 1, 32, 0xa58d1dc3996374e6ULL,
       881426.62912110041, 1326958.7294136635, 3067.8662163317204,
       2104799.8639428252, 3769100766, 1878689920, 18387986},
      {"resnet56", 1, 64, 0xa58d1dc3996374e6ULL,
       881426.62912110041, 1326958.7294136635, 2380.8423657380044,
       1262232.2100395649, 3769100766, 1878689920, 18387986},
      {"resnet56", 3, 32, 0x8d0e3dfce603c1c4ULL,
       881669.78342725546, 1327002.6602868, -521.6742066219449,
       278595.34244077775, 3769690590, 1878984832, 18388274},
      {"resnet56", 3, 64, 0x8d0e3dfce603c1c4ULL,
       881669.78342725546, 1327002.6602868, -887.51992819085717,
       649074.70512618474, 3769690590, 1878984832, 18388274},
      {"wrn32_4", 1, 32, 0xa7b5b5fb310ac26aULL,
       1344603.2224349577, 2121723.2939496431, -42.593111420050263,
       2443.9593140868069, 21819071318, 10894895616, 93865482},
      {"wrn32_4", 1, 64, 0xa7b5b5fb310ac26aULL,
       1344603.2224349577, 2121723.2939496431, -26.47580973803997,
       2928.5887664682496, 21819071318, 10894895616, 93865482},
      {"wrn32_4", 3, 32, 0x75b7f5f190a22500ULL,
       1344604.0370105635, 2121740.3105295477, -53.676799215376377,
       6199.3153331369977, 21819661142, 10895190528, 93865770},
      {"wrn32_4", 3, 64, 0x75b7f5f190a22500ULL,
       1344604.0370105635, 2121740.3105295477, -10.886522769927979,
       7007.6655586131837, 21819661142, 10895190528, 93865770},
      {"mobilenet", 1, 32, 0xb212a30cb368dbd6ULL,
       2291310.6354563553, 2492094.7131619905, -0.18251740268897265,
       0.0187211473695921, 6563745642, 381906944, 37011830},
      {"mobilenet", 1, 64, 0x805b505f7a3c28a9ULL,
       2302401.0979131488, 2503120.3102708724, -0.19740221893880516,
       0.017980918956985441, 26253999978, 1527166976, 37011830},
      {"mobilenet", 3, 32, 0xbcc870f9bb42e3d0ULL,
       2291940.4456660096, 2492253.1681380356, 0.27959310138248838,
       0.014108980156629739, 6564925290, 382496768, 37012406},
      {"mobilenet", 3, 64, 0x0aa2129a35e898d7ULL,
       2303021.9370258292, 2503248.5131859356, 0.21357651687503676,
       0.013108043742414911, 26258718570, 1529526272, 37012406},
      // clang-format on
  };
  return rows;
}

uint64_t fnv1a(uint64_t h, const std::string& text) {
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// A deterministic input that draws nothing from the generator.
torch::Tensor fixed_input(int64_t channels, int64_t side) {
  const int64_t batch = 2;
  return torch::sin(torch::arange(batch * channels * side * side, torch::kFloat)
                        .mul(0.37))
      .reshape({batch, channels, side, side});
}

Fingerprint measure(const std::string& arch, int64_t channels, int64_t side) {
  Fingerprint f{
      arch, channels, side, 1469598103934665603ULL, 0, 0, 0, 0, 0, 0, 0};
  torch::manual_seed(0);
  network::NetworkOptions options;
  options.backbone.arch = arch;
  options.backbone.in_channels = channels;
  options.backbone.input_side = side;
  options.backbone.num_classes = 10;
  network::SdnNetwork net(options);

  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& item : net->named_parameters()) {
    tensors.emplace_back(item.key(), item.value());
  }
  for (const auto& item : net->named_buffers()) {
    tensors.emplace_back(item.key(), item.value());
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, tensor] = tensors[i];
    std::string shape;
    for (const int64_t d : tensor.sizes()) {
      shape += std::to_string(d) + ",";
    }
    f.layout = fnv1a(f.layout, name + ":" + shape + ";");
    const auto t = tensor.detach().to(torch::kFloat64);
    const double weight = static_cast<double>(i + 1);
    f.weight_sum += weight * t.sum().item<double>();
    f.weight_squares += weight * t.square().sum().item<double>();
  }

  net->eval();
  torch::NoGradGuard no_grad;
  for (const auto& logits : net->forward(fixed_input(channels, side))) {
    const auto t = logits.to(torch::kFloat64);
    f.logit_sum += t.sum().item<double>();
    f.logit_squares += t.square().sum().item<double>();
  }

  const auto& backbone = *net->backbone();
  std::vector<Cost> pieces = {backbone.stem_cost()};
  for (int64_t i = 0; i < backbone.num_blocks(); ++i) {
    pieces.push_back(backbone.block_cost(i));
  }
  pieces.push_back(backbone.head_cost());
  for (size_t p = 0; p < pieces.size(); ++p) {
    f.ops += static_cast<double>(p + 1) * pieces[p].ops;
    f.macs += static_cast<double>(p + 1) * pieces[p].macs;
    f.params += static_cast<int64_t>(p + 1) * pieces[p].params;
  }
  return f;
}

std::vector<Fingerprint> measure_all() {
  std::vector<Fingerprint> all;
  for (const std::string arch : {"vgg16", "resnet56", "wrn32_4", "mobilenet"}) {
    for (const int64_t channels : {1, 3}) {
      for (const int64_t side : {32, 64}) {
        all.push_back(measure(arch, channels, side));
      }
    }
  }
  return all;
}

void print(const Fingerprint& f) {
  std::printf(
      "      {\"%s\", %" PRId64 ", %" PRId64 ", 0x%016" PRIx64
      "ULL, %.17g, %.17g, %.17g, %.17g, %.17g, %.17g, %" PRId64 "},\n",
      f.arch.c_str(),
      f.channels,
      f.side,
      f.layout,
      f.weight_sum,
      f.weight_squares,
      f.logit_sum,
      f.logit_squares,
      f.ops,
      f.macs,
      f.params);
}

TEST(Fingerprint, NamesWeightsLogitsAndCostsAreUnchanged) {
  const auto all = measure_all();
  if (std::getenv("SDN_PRINT_FINGERPRINTS") != nullptr) {
    for (const auto& f : all) {
      print(f);
    }
  }
  const auto& expected = recorded();
  ASSERT_EQ(all.size(), expected.size());
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& got = all[i];
    const auto& want = expected[i];
    SCOPED_TRACE(
        got.arch + " " + std::to_string(got.channels) + "ch " +
        std::to_string(got.side) + "px");
    ASSERT_EQ(got.arch, want.arch);
    ASSERT_EQ(got.channels, want.channels);
    ASSERT_EQ(got.side, want.side);
    // Names and shapes: checkpoints load by them.
    EXPECT_EQ(got.layout, want.layout);
    // Weights: exact on this machine; the tolerance only absorbs a last-bit
    // difference of vectorised sampling on another CPU, far below what a
    // reordered or changed draw moves.
    EXPECT_NEAR(
        got.weight_squares, want.weight_squares, 1e-7 * want.weight_squares);
    EXPECT_NEAR(got.weight_sum, want.weight_sum, 1e-7 * want.weight_squares);
    // Logits: likewise, other BLAS kernels round differently.
    EXPECT_NEAR(
        got.logit_squares, want.logit_squares, 1e-5 * want.logit_squares);
    EXPECT_NEAR(got.logit_sum, want.logit_sum, 1e-5 * want.logit_squares);
    // Costs are integers counted in double: exact everywhere.
    EXPECT_EQ(got.ops, want.ops);
    EXPECT_EQ(got.macs, want.macs);
    EXPECT_EQ(got.params, want.params);
  }
}

} // namespace
} // namespace sdn::models
