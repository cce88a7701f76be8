#include "sdn/app/train_console.h"

#include "sdn/util/error.h"

#include <cmath>
#include <sstream>
#include <vector>

namespace sdn::app {

namespace {

std::string format_list(const std::vector<double>& v, int precision) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(precision);
  for (size_t i = 0; i < v.size(); ++i) {
    out << (i ? " " : "") << v[i];
  }
  return out.str();
}

template <typename... Args>
std::string format(const char* fmt, Args... args) {
  const int n = std::snprintf(nullptr, 0, fmt, args...);
  std::string out(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), fmt, args...);
  out.resize(static_cast<size_t>(n));
  return out;
}

} // namespace

void TrainConsoleOptions::validate() const {
  check(
      !table || table_out != nullptr, "TrainConsoleOptions: table_out is null");
}

std::string train_table_header() {
  return format(
      "%5s %9s %9s  %-24s %-24s %7s %7s\n",
      "epoch",
      "lr",
      "loss",
      "train acc % (exits)",
      "val acc % (exits)",
      "sec",
      "img/s");
}

std::string train_table_row(const train::EpochMetrics& m) {
  std::string row = format(
      "%5lld %9.2e %9.4f  %-24s %-24s %7.1f %7.1f",
      static_cast<long long>(m.epoch),
      m.lr,
      m.loss,
      format_list(m.train_accuracy, 1).c_str(),
      format_list(m.val_accuracy, 1).c_str(),
      m.seconds,
      m.images_per_second);
  if (!m.ic_weights.empty()) {
    row += "  tau " + format_list(m.ic_weights, 3);
  }
  return row + "\n";
}

TrainConsole::TrainConsole(TrainConsoleOptions options)
    : options_(std::move(options)) {
  options_.validate();
}

TrainConsole::~TrainConsole() = default;

void TrainConsole::print(const std::string& text) {
  if (!options_.table) {
    return;
  }
  std::fputs(text.c_str(), options_.table_out);
  std::fflush(options_.table_out);
}

void TrainConsole::on_start(const train::TrainStart& /*start*/) {
  print(train_table_header());
}

void TrainConsole::on_resume(const train::TrainStart& start) {
  // What this invocation changed of the saved run, before anything trains.
  for (const std::string& change : start.changes) {
    std::fprintf(stderr, "resume: %s\n", change.c_str());
  }
  if (start.first_epoch > start.config.epochs) {
    std::fprintf(
        stderr,
        "resume: the run has trained all its %lld epochs; nothing to train "
        "(--epochs N continues it to N)\n",
        static_cast<long long>(start.config.epochs));
    return;
  }
  print(train_table_header());
}

void TrainConsole::on_phase_begin(const train::PhaseProgress& p) {
  const std::string label = p.phase == train::Phase::kTrain ?
      str_cat("epoch ", p.epoch, "/", p.epochs) :
      std::string("validate");
  bar_ = std::make_unique<Progress>(label, p.total, "img", options_.progress);
  done_ = 0;
}

void TrainConsole::on_progress(const train::PhaseProgress& p) {
  if (!bar_) {
    return;
  }
  bar_->advance(
      p.done - done_,
      p.phase == train::Phase::kTrain ? str_cat("loss ", p.loss) : "");
  done_ = p.done;
}

void TrainConsole::on_phase_end(const train::PhaseProgress& p) {
  if (!bar_) {
    return;
  }
  bar_->finish(p.phase == train::Phase::kTrain ? str_cat("loss ", p.loss) : "");
  bar_.reset();
}

void TrainConsole::on_epoch_end(const train::EpochMetrics& metrics) {
  print(train_table_row(metrics));
}

std::shared_ptr<train::TrainCallback> make_train_console(
    TrainConsoleOptions options) {
  return std::make_shared<TrainConsole>(std::move(options));
}

} // namespace sdn::app
