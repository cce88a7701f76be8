#pragma once

#include <cstdint>
#include <vector>

namespace sdn::train {

/// The paper's maximum IC loss weights C_i, in IC order
/// (docs/training.md#sdn-training-loss-weights). A network with fewer ICs
/// (MobileNet: 5) uses the first ones.
const std::vector<double>& paper_ic_weight_caps();

/// Learning rate of 1-based `epoch` under the original's MultiStepMultiLR with
/// scheduler.step() at the start of each epoch
/// (docs/training.md#modes-and-recipes): base times the product of `gamma` over
/// milestones <= epoch, rounded to 8 decimals.
double lr_at_epoch(
    double base,
    const std::vector<int64_t>& milestones,
    double gamma,
    int64_t epoch);

/// IC loss weights tau_i at 1-based `epoch` of `total_epochs`
/// (docs/training.md#sdn-training-loss-weights): min(C_i, 0.01 + epoch * C_i /
/// total_epochs) for the first `num_ics` caps.
std::vector<double> ic_weights_at_epoch(
    int64_t epoch,
    int64_t total_epochs,
    int64_t num_ics);

/// Linear learning-rate warm-up factor for 0-based optimiser `step`:
/// (step + 1) / warmup_steps until warmup_steps, then 1 (a documented
/// deviation the demo uses; the paper has no warm-up).
double warmup_factor(int64_t step, int64_t warmup_steps);

/// The cosine schedule's factor for 0-based optimiser `step` of
/// `total_steps`: (1 + cos(pi * step / total_steps)) / 2, from 1 at the
/// first step towards 0 after the last (Loshchilov and Hutter, SGDR, 2017,
/// without restarts). Throws sdn::Error unless 0 <= step and 0 < total_steps.
double cosine_factor(int64_t step, int64_t total_steps);

} // namespace sdn::train
