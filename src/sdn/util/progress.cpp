#include "sdn/util/progress.h"

#include <unistd.h>

#include <cstdio>

namespace sdn {

namespace {
// Seconds between redraws: often enough to look alive, rarely enough to cost
// nothing; plain (non-terminal) output is throttled harder to keep logs short.
constexpr double kTtyInterval = 0.2;
constexpr double kPlainInterval = 10.0;

std::string format_seconds(double s) {
  if (!(s >= 0) || s > 1e7) {
    return "--:--";
  }
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(
        buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
  }
  return buf;
}
} // namespace

Progress::Progress(
    std::string label,
    int64_t total,
    std::string unit,
    bool enabled)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() {
  if (enabled_ && !finished_ && tty_ && done_ > 0) {
    std::fputc('\n', stderr);
  }
}

void Progress::advance(int64_t n, const std::string& suffix) {
  done_ += n;
  if (!enabled_) {
    return;
  }
  const double now = timer_.seconds();
  if (now - last_draw_ >= (tty_ ? kTtyInterval : kPlainInterval)) {
    last_draw_ = now;
    draw(false, suffix);
  }
}

void Progress::finish(const std::string& suffix) {
  if (!enabled_ || finished_) {
    return;
  }
  finished_ = true;
  draw(true, suffix);
}

void Progress::draw(bool final_draw, const std::string& suffix) {
  const double elapsed = timer_.seconds();
  const double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  const double frac = total_ > 0 ?
      static_cast<double>(done_) / static_cast<double>(total_) :
      0.0;
  const double eta = rate > 0 ? (total_ - done_) / rate : -1;
  char head[256];
  std::snprintf(
      head,
      sizeof head,
      "%s %3.0f%% %lld/%lld %.1f %s/s",
      label_.c_str(),
      100.0 * frac,
      static_cast<long long>(done_),
      static_cast<long long>(total_),
      rate,
      unit_.c_str());
  std::string line = head;
  line += final_draw ? " in " + format_seconds(elapsed) :
                       " ETA " + format_seconds(eta);
  if (!suffix.empty()) {
    line += " " + suffix;
  }
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar = "[" + std::string(filled, '#') +
        std::string(kWidth - filled, '.') + "] ";
    std::fprintf(
        stderr,
        "\r\033[2K%s%s%s",
        bar.c_str(),
        line.c_str(),
        final_draw ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

} // namespace sdn
