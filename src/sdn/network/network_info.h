#pragma once

#include "sdn/network/sdn_network.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sdn::network {

/// How costs are counted.
enum class Counting {
  kPaper, ///< Operations under the original profiler's rules
          ///< (docs/architecture.md#counting-rules).
  kExact, ///< True multiply-accumulates of convolutions and linears.
};

/// Parses "paper" or "exact"; throws sdn::Error naming --counting otherwise.
Counting parse_counting(const std::string& name);
/// "paper" or "exact".
std::string counting_name(Counting counting);
/// The cost of `cost` under `counting` (ops or MACs).
double cost_value(const models::Cost& cost, Counting counting);

/// One exit of a network, for one image.
struct ExitInfo {
  int64_t block = 0; ///< Block the IC is attached to; last block for final.
  double cost = 0; ///< Cumulative cost up to and including this exit.
  double relative_cost = 0; ///< cost / the plain CNN's cost (a fraction).
  int64_t params = 0; ///< Parameters of this exit's classifier.
  int64_t cumulative_params = 0; ///< Parameters of everything it needs.
  std::vector<int64_t> input_shape; ///< [C, H, W] its classifier sees.
  int64_t kernel = 0; ///< IC reduction kernel; 0: none (and final exit).
  int64_t features = 0; ///< Inputs of the exit's last linear layer.
};

/// Per-exit costs and shapes of a network (what `sdn info` prints).
struct NetworkInfo {
  std::string arch;
  std::string dataset;
  Counting counting = Counting::kPaper;
  std::vector<int64_t> input_shape; ///< [C, H, W] of one image.
  int64_t num_classes = 0;
  double cnn_cost = 0; ///< The plain CNN, per image.
  int64_t cnn_params = 0;
  double sdn_cost = 0; ///< Backbone plus every IC, per image.
  int64_t sdn_params = 0;
  std::vector<ExitInfo> exits; ///< ICs shallowest first, final last.
};

/// Describes a network built from `options`; `dataset` is only recorded.
NetworkInfo network_info(
    const NetworkOptions& options,
    const std::string& dataset,
    Counting counting);

/// Describes an existing network.
NetworkInfo network_info(
    const SdnNetworkImpl& network,
    const std::string& dataset,
    Counting counting);

/// {"arch", "dataset", "counting", "input_shape", "num_classes", "cnn_cost",
/// "cnn_params", "sdn_cost", "sdn_params", "exits": [{"block", "cost",
/// "relative_cost", "params", "cumulative_params", "input_shape", "kernel",
/// "features"}, ...]}, final exit last.
nlohmann::json to_json(const NetworkInfo& info);

/// A human-readable table of `info`, one row per exit plus totals.
std::string format_table(const NetworkInfo& info);

} // namespace sdn::network
