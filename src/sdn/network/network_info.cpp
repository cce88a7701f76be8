// Per-exit cost and shape summaries of a network (`sdn info`).
#include "sdn/network/network_info.h"

#include "sdn/util/error.h"

#include <cstdio>

namespace sdn::network {

namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    s += (i == 0 ? "" : "x") + std::to_string(shape[i]);
  }
  return s;
}

/// Costs are printed in giga-units: G-ops (paper) or G-MACs (exact).
constexpr double kGiga = 1e9;

} // namespace

Counting parse_counting(const std::string& name) {
  if (name == "paper") {
    return Counting::kPaper;
  }
  if (name == "exact") {
    return Counting::kExact;
  }
  fail("--counting: unknown mode '", name, "' (expected paper or exact)");
}

std::string counting_name(Counting counting) {
  return counting == Counting::kPaper ? "paper" : "exact";
}

double cost_value(const models::Cost& cost, Counting counting) {
  return counting == Counting::kPaper ? cost.ops : cost.macs;
}

NetworkInfo network_info(
    const NetworkOptions& options,
    const std::string& dataset,
    Counting counting) {
  SdnNetworkImpl network(options);
  return network_info(network, dataset, counting);
}

NetworkInfo network_info(
    const SdnNetworkImpl& network,
    const std::string& dataset,
    Counting counting) {
  const auto& backbone = *network.backbone();
  const auto& bo = backbone.options();
  const CostTable table = network.costs();
  NetworkInfo info;
  info.arch = bo.arch;
  info.dataset = dataset;
  info.counting = counting;
  info.input_shape = {bo.in_channels, bo.input_side, bo.input_side};
  info.num_classes = bo.num_classes;
  info.cnn_cost = cost_value(table.cnn, counting);
  info.cnn_params = table.cnn.params;
  info.sdn_cost = cost_value(table.exits.back(), counting);
  info.sdn_params = table.exits.back().params;
  for (size_t i = 0; i < table.exits.size(); ++i) {
    ExitInfo e;
    e.cost = cost_value(table.exits[i], counting);
    e.relative_cost = e.cost / info.cnn_cost;
    e.cumulative_params = table.exits[i].params;
    if (i < network.ics().size()) {
      const auto& ic = network.ics()[i];
      e.block = network.ic_blocks()[i];
      e.params = ic->cost().params;
      e.input_shape = backbone.block_feature_shape(e.block);
      e.kernel = ic->kernel();
      e.features = ic->features();
    } else {
      e.block = backbone.num_blocks() - 1;
      e.params = backbone.head_cost().params;
      e.input_shape = backbone.block_feature_shape(e.block);
      e.features = backbone.head_features();
    }
    info.exits.push_back(std::move(e));
  }
  return info;
}

nlohmann::json to_json(const NetworkInfo& info) {
  nlohmann::json exits = nlohmann::json::array();
  for (const auto& e : info.exits) {
    exits.push_back(
        {{"block", e.block},
         {"cost", e.cost},
         {"relative_cost", e.relative_cost},
         {"params", e.params},
         {"cumulative_params", e.cumulative_params},
         {"input_shape", e.input_shape},
         {"kernel", e.kernel},
         {"features", e.features}});
  }
  return {
      {"arch", info.arch},
      {"dataset", info.dataset},
      {"counting", counting_name(info.counting)},
      {"input_shape", info.input_shape},
      {"num_classes", info.num_classes},
      {"cnn_cost", info.cnn_cost},
      {"cnn_params", info.cnn_params},
      {"sdn_cost", info.sdn_cost},
      {"sdn_params", info.sdn_params},
      {"exits", exits}};
}

std::string format_table(const NetworkInfo& info) {
  const char* unit = info.counting == Counting::kPaper ? "GOps" : "GMACs";
  std::string out = str_cat(
      info.arch,
      " on ",
      info.dataset,
      " (input ",
      shape_string(info.input_shape),
      ", ",
      info.num_classes,
      " classes), counting: ",
      counting_name(info.counting),
      "\n");
  char line[160];
  std::snprintf(
      line,
      sizeof(line),
      "%-6s %5s %10s %8s %-11s %6s %8s %10s\n",
      "exit",
      "block",
      unit,
      "% CNN",
      "input",
      "kernel",
      "features",
      "params");
  out += line;
  for (size_t i = 0; i < info.exits.size(); ++i) {
    const auto& e = info.exits[i];
    const bool final_exit = i + 1 == info.exits.size();
    const std::string name =
        final_exit ? std::string("final") : "IC" + std::to_string(i + 1);
    const std::string kernel = final_exit ? "-" :
        e.kernel == 0                     ? "none" :
                                            std::to_string(e.kernel);
    std::snprintf(
        line,
        sizeof(line),
        "%-6s %5lld %10.4f %8.2f %-11s %6s %8lld %10lld\n",
        name.c_str(),
        static_cast<long long>(e.block),
        e.cost / kGiga,
        100.0 * e.relative_cost,
        shape_string(e.input_shape).c_str(),
        kernel.c_str(),
        static_cast<long long>(e.features),
        static_cast<long long>(e.params));
    out += line;
  }
  std::snprintf(
      line,
      sizeof(line),
      "CNN total %.4f %s, %lld params\nSDN total %.4f %s (%+.2f %% vs CNN), "
      "%lld params\n",
      info.cnn_cost / kGiga,
      unit,
      static_cast<long long>(info.cnn_params),
      info.sdn_cost / kGiga,
      unit,
      100.0 * (info.sdn_cost / info.cnn_cost - 1.0),
      static_cast<long long>(info.sdn_params));
  out += line;
  return out;
}

} // namespace sdn::network
