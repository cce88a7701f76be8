#pragma once

// An SDN prepared for `sdn serve` (docs/serving.md#modes): the engine's
// StagedModel over an inference copy of the network (BatchNorms folded,
// channels-last, on the CPU: as `sdn exit` runs it by default), deciding
// exits with inference::ExitDecider, as `sdn exit` does.

#include "sdn/analysis/early_exit.h"
#include "sdn/analysis/exit_policy.h"
#include "sdn/network/sdn_network.h"
#include "sdn/serve/engine.h"

#include <memory>
#include <string>
#include <vector>

namespace sdn::serve {

/// How the server runs the network.
enum class ServeMode {
  /// E stages, one per exit: stage e runs the blocks up to exit e and that
  /// exit (the last: the remaining blocks and the final classifier); rows
  /// the policy lets go are answered, the rest wait for the next stage's
  /// batch (re-batching per stage, E3).
  kStage,
  /// One stage: each batch runs the whole SDN with compaction
  /// (inference::early_exit_batch, as `sdn exit`).
  kBatch,
  /// One stage: the plain CNN (the backbone and its final classifier; no
  /// IC runs), every image answered at the final exit. The baseline.
  kCnn,
};

/// "stage", "batch" or "cnn".
std::string to_string(ServeMode mode);

/// Parses "stage", "batch" or "cnn"; throws sdn::Error naming --mode
/// otherwise.
ServeMode parse_serve_mode(const std::string& text);

/// `network` (not changed; a copy is made) as a StagedModel for `mode`.
/// Stage and batch modes decide with `policy` (not null; must outlive the
/// model) and `no_exit`, and price answers with `exit_cost` (E cumulative
/// costs relative to the CNN, inference::relative_exit_costs); cnn mode
/// takes no policy (null) and answers at exit E-1 at cost 1 (the CNN
/// itself). Answers carry prediction, confidence, exit and cost. Throws
/// sdn::Error when stage or batch mode gets a network without ICs, when
/// `exit_cost` does not have E entries, or when a policy is given to (or
/// missing from) a mode.
std::unique_ptr<StagedModel> make_staged_network(
    ServeMode mode,
    const network::SdnNetworkImpl& network,
    const analysis::ExitPolicy* policy,
    analysis::NoExitRule no_exit,
    const std::vector<double>& exit_cost);

} // namespace sdn::serve
