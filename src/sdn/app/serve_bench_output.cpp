// `sdn bench serve`'s output: JSON, the terminal tables, the HTML page.
#include "sdn/app/serve_bench.h"

#include "sdn/report/html.h"
#include "sdn/report/html_figures.h"
#include "sdn/report/svg.h"
#include "sdn/util/error.h"
#include "sdn/util/format.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sdn::app {

namespace {

const std::vector<std::string>& mode_order() {
  static const std::vector<std::string> order = {"stage", "batch", "cnn"};
  return order;
}

// The modes measured, in a fixed order (stage, batch, cnn).
std::vector<std::string> measured_modes(const ServeBenchResult& r) {
  std::vector<std::string> out;
  for (const auto& m : mode_order()) {
    if (std::any_of(r.rows.begin(), r.rows.end(), [&](const auto& row) {
          return row.mode == m;
        })) {
      out.push_back(m);
    }
  }
  return out;
}

double busy_share(const serve::LoadRow& row) {
  double busy = 0;
  for (const double s : row.work.stage_seconds) {
    busy += s;
  }
  return row.window_s > 0 ? busy / row.window_s : 0;
}

double ms(double seconds) {
  return seconds * 1000;
}

nlohmann::json row_json(const serve::LoadRow& r) {
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [why, count] : r.errors) {
    errors[why] = count;
  }
  return {
      {"mode", r.mode},
      {"load", r.load},
      {"offered_rate", r.offered_rate},
      {"window_s", r.window_s},
      {"sent", r.sent},
      {"ok", r.ok},
      {"refused", r.refused},
      {"failed", r.failed},
      {"errors", errors},
      {"throughput", r.throughput},
      {"latency_ms",
       {{"p50", ms(r.latency.p50)},
        {"p95", ms(r.latency.p95)},
        {"p99", ms(r.latency.p99)},
        {"max", ms(r.latency.max)},
        {"mean", ms(r.latency.mean)}}},
      {"accuracy", r.accuracy},
      {"mean_cost", r.mean_cost},
      {"exits", r.exits},
      {"max_send_lag_ms", ms(r.max_send_lag)},
      {"stage_seconds", r.work.stage_seconds},
      {"stage_batches", r.work.stage_batches},
      {"stage_rows", r.work.stage_rows},
      {"busy_share", busy_share(r)}};
}

std::string bound_text(const ServeBenchResult& r) {
  return str_printf(
      "p99 <= %.1f ms (%s), <= %.0f %% refused or failed",
      ms(r.rule.p99_bound_s),
      r.bound_given ? "--p99-bound-ms" : "5 x cnn's p99 at the lowest load",
      r.rule.max_lost_share * 100);
}

std::string kb_text(int64_t kb) {
  return str_printf("%.1f MiB", static_cast<double>(kb) / 1024);
}

} // namespace

nlohmann::json serve_bench_json(const ServeBenchResult& r) {
  const auto& o = r.options;
  nlohmann::json j;
  j["checkpoint"] = o.checkpoint;
  j["modes"] = o.modes;
  j["loads"] = o.loads;
  j["warmup_s"] = o.warmup_s;
  j["duration_s"] = o.duration_s;
  j["capacity_s"] = o.capacity_s;
  j["connections"] = o.connections;
  j["seed"] = o.seed;
  j["max_batch"] = o.engine.max_batch;
  j["max_wait_ms"] = static_cast<double>(o.engine.max_wait.count()) / 1000;
  j["queue_limit"] = o.engine.queue_limit;
  j["threads"] = o.threads;
  j["policy"] = r.policy;
  j["num_exits"] = r.num_exits;
  j["test_images"] = r.test_images;
  j["body"] = "application/x-npy, float32 [C, H, W], normalised";
  j["capacity"] = {
      {"images_per_second", r.capacity},
      {"connections", r.capacity_connections}};
  j["p99_bound_ms"] = ms(r.rule.p99_bound_s);
  j["p99_bound_given"] = r.bound_given;
  j["max_lost_share"] = r.rule.max_lost_share;
  j["rows"] = nlohmann::json::array();
  for (const auto& row : r.rows) {
    j["rows"].push_back(row_json(row));
  }
  j["sustained"] = nlohmann::json::object();
  for (const auto& m : measured_modes(r)) {
    j["sustained"][m] = serve::sustained_throughput(r.rows, m, r.rule);
  }
  j["verdicts"] = nlohmann::json::array();
  for (const auto& v : r.verdicts) {
    j["verdicts"].push_back(
        {{"name", v.name},
         {"measured", v.measured},
         {"pass", v.pass},
         {"value", v.value},
         {"reference", v.reference},
         {"text", v.text}});
  }
  if (r.fault) {
    const auto& f = *r.fault;
    nlohmann::json faults = nlohmann::json::array();
    for (const auto& k : f.faults) {
      nlohmann::json outcomes = nlohmann::json::object();
      for (const auto& [what, count] : k.outcomes) {
        outcomes[what] = count;
      }
      faults.push_back(
          {{"kind", k.kind}, {"sent", k.sent}, {"outcomes", outcomes}});
    }
    j["fault_run"] = {
        {"mode", f.mode},
        {"load", f.load},
        {"share", f.share},
        {"well_behaved", row_json(f.well_behaved)},
        {"compared", f.compared},
        {"same_class", f.same_class},
        {"faults", faults},
        {"rss_before_kb", f.rss_before_kb},
        {"rss_after_kb", f.rss_after_kb},
        {"peak_rss_kb", f.peak_rss_kb},
        {"healthy_after", f.healthy_after}};
  } else {
    j["fault_run"] = nullptr;
  }
  j["servers"] = nlohmann::json::array();
  for (const auto& s : r.servers) {
    j["servers"].push_back(
        {{"mode", s.mode},
         {"end", s.end},
         {"clean", s.clean},
         {"peak_rss_kb", s.peak_rss_kb}});
  }
  return j;
}

void print_serve_bench(std::ostream& out, const ServeBenchResult& r) {
  const auto& o = r.options;
  out << str_printf(
      "sdn bench serve: %s, %lld test images; max-batch %lld, max-wait "
      "%g ms, queue limit %lld\n",
      o.checkpoint.c_str(),
      static_cast<long long>(r.test_images),
      static_cast<long long>(o.engine.max_batch),
      static_cast<double>(o.engine.max_wait.count()) / 1000,
      static_cast<long long>(o.engine.queue_limit));
  if (!r.policy.empty()) {
    out << "policy (stage, batch): " << r.policy << "\n";
  }
  out << str_printf(
      "cnn capacity: %.1f images/s (closed loop of %lld connections, %g s); "
      "windows: %g s warm-up, %g s measured\n\n",
      r.capacity,
      static_cast<long long>(r.capacity_connections),
      o.capacity_s,
      o.warmup_s,
      o.duration_s);
  out << str_printf(
      "%-6s %5s %9s %9s %8s %8s %8s %8s %6s %5s %6s %5s %5s\n",
      "mode",
      "load",
      "offered/s",
      "answer/s",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "max ms",
      "503 %",
      "fail",
      "acc %",
      "cost",
      "busy%");
  const auto line = [&](const serve::LoadRow& row) {
    out << str_printf(
        "%-6s %5.2f %9.1f %9.1f %8.1f %8.1f %8.1f %8.1f %6.1f %5lld %6.2f "
        "%5.3f %5.0f\n",
        row.mode.c_str(),
        row.load,
        row.offered_rate,
        row.throughput,
        ms(row.latency.p50),
        ms(row.latency.p95),
        ms(row.latency.p99),
        ms(row.latency.max),
        row.sent > 0 ? 100.0 * static_cast<double>(row.refused) /
                static_cast<double>(row.sent) :
                       0.0,
        static_cast<long long>(row.failed),
        100 * row.accuracy,
        row.mean_cost,
        100 * busy_share(row));
  };
  for (const auto& m : measured_modes(r)) {
    for (const auto& row : r.rows) {
      if (row.mode == m) {
        line(row);
      }
    }
  }
  out << "\nwhere the time goes: executor seconds per window second at each "
         "stage (mean rows per batch)\n";
  for (const auto& m : measured_modes(r)) {
    for (const auto& row : r.rows) {
      if (row.mode != m) {
        continue;
      }
      out << str_printf("%-6s %5.2f:", row.mode.c_str(), row.load);
      for (size_t s = 0; s < row.work.stage_seconds.size(); ++s) {
        const auto batches = row.work.stage_batches[s];
        out << str_printf(
            "  s%zu %4.1f %% (%.1f)",
            s + 1,
            100 * row.work.stage_seconds[s] / row.window_s,
            batches > 0 ? static_cast<double>(row.work.stage_rows[s]) /
                    static_cast<double>(batches) :
                          0.0);
      }
      out << "\n";
    }
  }
  out << "\nsustained throughput at " << bound_text(r) << ":";
  for (const auto& m : measured_modes(r)) {
    out << str_printf(
        " %s %.1f/s",
        m.c_str(),
        serve::sustained_throughput(r.rows, m, r.rule));
  }
  out << "\n";
  for (const auto& v : r.verdicts) {
    out << v.text << "\n";
  }
  if (r.fault) {
    const auto& f = *r.fault;
    out << str_printf(
        "\nfault run: %s at load %.2f, %.0f %% of clients misbehaving\n",
        f.mode.c_str(),
        f.load,
        f.share * 100);
    line(f.well_behaved);
    for (const auto& row : r.rows) {
      if (row.mode == f.mode && std::abs(row.load - f.load) < 1e-9) {
        out << "(fault-free run: ";
        out << str_printf(
            "p50 %.1f ms, p99 %.1f ms, %.1f/s)\n",
            ms(row.latency.p50),
            ms(row.latency.p99),
            row.throughput);
      }
    }
    out << str_printf(
        "answers: %lld of %lld requests answered in both runs got the same "
        "class\n",
        static_cast<long long>(f.same_class),
        static_cast<long long>(f.compared));
    for (const auto& k : f.faults) {
      out << str_printf(
          "  %-10s %5lld sent:",
          k.kind.c_str(),
          static_cast<long long>(k.sent));
      for (const auto& [what, count] : k.outcomes) {
        out << str_printf(
            " %s x%lld;", what.c_str(), static_cast<long long>(count));
      }
      out << "\n";
    }
    out << "server RSS " << kb_text(f.rss_before_kb) << " before, "
        << kb_text(f.rss_after_kb) << " after (peak " << kb_text(f.peak_rss_kb)
        << "); "
        << (f.healthy_after ? "healthy after it" : "NOT healthy after it")
        << "\n";
  }
  out << "\nservers:";
  for (const auto& s : r.servers) {
    out << " " << s.mode << " " << s.end << " (peak RSS "
        << kb_text(s.peak_rss_kb) << ");";
  }
  out << "\n";
}

namespace {

using report::detail::Table;
using report::svg::Point;

std::string mode_color(const std::string& mode) {
  const auto& order = mode_order();
  const auto it = std::find(order.begin(), order.end(), mode);
  return report::svg::categorical_color(static_cast<int>(it - order.begin()));
}

// Latency percentiles (log scale: a plot of log10 ms with labelled powers
// of ten) against the offered load.
std::string latency_plot(const ServeBenchResult& r) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  double max_load = 0;
  for (const auto& row : r.rows) {
    max_load = std::max(max_load, row.load);
    for (const double v : {row.latency.p50, row.latency.p99}) {
      if (std::isfinite(v) && v > 0) {
        lo = std::min(lo, std::log10(ms(v)));
        hi = std::max(hi, std::log10(ms(v)));
      }
    }
  }
  if (!std::isfinite(lo)) {
    return "";
  }
  const bool bound =
      std::isfinite(r.rule.p99_bound_s) && r.rule.p99_bound_s > 0;
  if (bound) {
    lo = std::min(lo, std::log10(ms(r.rule.p99_bound_s)));
    hi = std::max(hi, std::log10(ms(r.rule.p99_bound_s)));
  }
  report::svg::PlotOptions po;
  po.title = "Latency against offered load";
  po.x.label = "offered load (x cnn's capacity)";
  po.x.hi = max_load * 1.05;
  po.y.label = "latency (ms, log scale)";
  po.y.lo = std::floor(lo);
  po.y.hi = std::max(std::ceil(hi), po.y.lo + 1);
  for (double t = po.y.lo; t <= po.y.hi + 1e-9; t += 1) {
    po.y.ticks.push_back({t, report::svg::trimmed(std::pow(10, t), 3)});
  }
  report::svg::Plot plot(po);
  for (const auto& m : measured_modes(r)) {
    std::vector<Point> p50;
    std::vector<Point> p99;
    std::vector<std::string> tips;
    for (const auto& row : r.rows) {
      if (row.mode != m) {
        continue;
      }
      const auto log_ms = [](double s) {
        return s > 0 && std::isfinite(s) ?
            std::log10(ms(s)) :
            std::numeric_limits<double>::quiet_NaN();
      };
      p50.push_back({row.load, log_ms(row.latency.p50)});
      p99.push_back({row.load, log_ms(row.latency.p99)});
      tips.push_back(str_printf(
          "%s at %.2f: p99 %.1f ms", m.c_str(), row.load, ms(row.latency.p99)));
    }
    plot.line(p99, mode_color(m));
    plot.markers(p99, mode_color(m), 3.5, report::svg::Marker::kCircle, tips);
    plot.line(p50, mode_color(m), 1.5, true);
    plot.legend(m + " p99", mode_color(m), "line");
    plot.legend(m + " p50", mode_color(m), "dashed");
  }
  if (bound) {
    plot.hline(
        std::log10(ms(r.rule.p99_bound_s)),
        report::detail::kReference,
        "p99 bound");
  }
  return plot.render();
}

// 200 answers/s against the offered rate; the diagonal is "all answered".
std::string throughput_plot(const ServeBenchResult& r) {
  double hi = 0;
  for (const auto& row : r.rows) {
    hi = std::max({hi, row.offered_rate, row.throughput});
  }
  if (!(hi > 0)) {
    return "";
  }
  report::svg::PlotOptions po;
  po.title = "Throughput against offered rate";
  po.x.label = "offered (images/s)";
  po.x.hi = hi * 1.05;
  po.y.label = "answered 200 (images/s)";
  po.y.hi = hi * 1.05;
  report::svg::Plot plot(po);
  plot.line(
      {{0, 0}, {hi * 1.05, hi * 1.05}}, report::detail::kReference, 1, true);
  plot.legend("offered = answered", report::detail::kReference, "dashed");
  plot.vline(r.capacity, report::detail::kReference, "cnn capacity");
  for (const auto& m : measured_modes(r)) {
    std::vector<Point> points;
    for (const auto& row : r.rows) {
      if (row.mode == m) {
        points.push_back({row.offered_rate, row.throughput});
      }
    }
    plot.line(points, mode_color(m));
    plot.markers(points, mode_color(m));
    plot.legend(m, mode_color(m), "line");
  }
  return plot.render();
}

std::string fixed(double v, int decimals) {
  return report::svg::fixed(v, decimals);
}

} // namespace

std::string render_serve_bench_html(
    const ServeBenchResult& r,
    const std::string& subtitle) {
  const auto& o = r.options;
  std::string body;
  body += "<p>" +
      report::svg::escape(str_printf(
          "Checkpoint %s; %lld test-split images, one float32 .npy per "
          "request; max-batch %lld, max-wait %g ms, queue limit %lld. cnn "
          "mode's capacity: %.1f images/s (closed loop of %lld connections). "
          "Each load is offered open-loop (Poisson arrivals, seed %llu) for "
          "%g s of warm-up and a %g s window; latency counts from each "
          "request's scheduled send time.",
          o.checkpoint.c_str(),
          static_cast<long long>(r.test_images),
          static_cast<long long>(o.engine.max_batch),
          static_cast<double>(o.engine.max_wait.count()) / 1000,
          static_cast<long long>(o.engine.queue_limit),
          r.capacity,
          static_cast<long long>(r.capacity_connections),
          static_cast<unsigned long long>(o.seed),
          o.warmup_s,
          o.duration_s)) +
      (r.policy.empty() ?
           "" :
           " Policy (stage, batch): " + report::svg::escape(r.policy) + ".") +
      "</p>\n";
  Table verdicts;
  verdicts.caption = "Targets (sustained: " + bound_text(r) + ")";
  verdicts.header = {"target", "outcome"};
  for (const auto& v : r.verdicts) {
    verdicts.rows.push_back({v.name, v.text});
  }
  for (const auto& m : measured_modes(r)) {
    verdicts.rows.push_back(
        {"sustained " + m,
         fixed(serve::sustained_throughput(r.rows, m, r.rule), 1) +
             " images/s"});
  }
  body += verdicts.render();
  body += report::detail::figure(
      "Latency against offered load",
      latency_plot(r),
      "",
      "p99 (solid) and p50 (dashed) of the 200 answers of each window, from "
      "each request's scheduled send time.",
      report::detail::Layout::kBelow);
  body += report::detail::figure(
      "Throughput against offered rate",
      throughput_plot(r),
      "",
      "200 answers per second of the window; below the diagonal the server "
      "refused (503) or fell behind.",
      report::detail::Layout::kBelow);
  Table rows;
  rows.header = {
      "mode",
      "load",
      "offered/s",
      "answered/s",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "max ms",
      "503 %",
      "failed",
      "accuracy %",
      "mean cost",
      "executor busy %"};
  const auto add_row = [&](Table& t, const serve::LoadRow& row) {
    t.rows.push_back(
        {row.mode,
         fixed(row.load, 2),
         fixed(row.offered_rate, 1),
         fixed(row.throughput, 1),
         fixed(ms(row.latency.p50), 1),
         fixed(ms(row.latency.p95), 1),
         fixed(ms(row.latency.p99), 1),
         fixed(ms(row.latency.max), 1),
         fixed(
             row.sent > 0 ? 100.0 * static_cast<double>(row.refused) /
                     static_cast<double>(row.sent) :
                            0.0,
             1),
         std::to_string(row.failed),
         fixed(100 * row.accuracy, 2),
         fixed(row.mean_cost, 3),
         fixed(100 * busy_share(row), 0)});
  };
  Table work;
  work.header = {"mode", "load"};
  size_t stages = 0;
  for (const auto& row : r.rows) {
    stages = std::max(stages, row.work.stage_seconds.size());
  }
  for (size_t s = 0; s < stages; ++s) {
    work.header.push_back(str_printf("stage %zu %% (rows/batch)", s + 1));
  }
  for (const auto& m : measured_modes(r)) {
    for (const auto& row : r.rows) {
      if (row.mode != m) {
        continue;
      }
      add_row(rows, row);
      std::vector<std::string> cells = {row.mode, fixed(row.load, 2)};
      for (size_t s = 0; s < stages; ++s) {
        if (s >= row.work.stage_seconds.size()) {
          cells.emplace_back("");
          continue;
        }
        const auto batches = row.work.stage_batches[s];
        cells.push_back(
            fixed(100 * row.work.stage_seconds[s] / row.window_s, 1) + " (" +
            fixed(
                batches > 0 ? static_cast<double>(row.work.stage_rows[s]) /
                        static_cast<double>(batches) :
                              0.0,
                1) +
            ")");
      }
      work.rows.push_back(std::move(cells));
    }
  }
  body += report::detail::figure(
      "Every mode and load",
      "",
      rows.render(),
      "",
      report::detail::Layout::kBelow);
  body += report::detail::figure(
      "Where the time goes",
      "",
      work.render(),
      "Seconds the executor ran each stage's batches per second of the "
      "window (sdn_serve_stage_seconds_total), and the mean rows per batch.",
      report::detail::Layout::kBelow);
  if (r.fault) {
    const auto& f = *r.fault;
    Table compare;
    compare.header = rows.header;
    for (const auto& row : r.rows) {
      if (row.mode == f.mode && std::abs(row.load - f.load) < 1e-9) {
        add_row(compare, row);
      }
    }
    add_row(compare, f.well_behaved);
    Table faults;
    faults.header = {"misbehaving clients", "sent", "what they got"};
    for (const auto& k : f.faults) {
      std::string got;
      for (const auto& [what, count] : k.outcomes) {
        got += (got.empty() ? "" : "; ") + what + " x" + std::to_string(count);
      }
      faults.rows.push_back({k.kind, std::to_string(k.sent), got});
    }
    body += report::detail::figure(
        str_printf(
            "Fault run: %s at load %.2f, %.0f %% of clients misbehaving",
            f.mode.c_str(),
            f.load,
            f.share * 100),
        "",
        compare.render() + faults.render(),
        str_printf(
            "The well-behaved clients repeat the fault-free run's arrivals "
            "and images: %lld of %lld requests answered in both got the same "
            "class. Server RSS %s before, %s after (peak %s); %s.",
            static_cast<long long>(f.same_class),
            static_cast<long long>(f.compared),
            kb_text(f.rss_before_kb).c_str(),
            kb_text(f.rss_after_kb).c_str(),
            kb_text(f.peak_rss_kb).c_str(),
            f.healthy_after ? "healthy after it" : "NOT healthy after it"),
        report::detail::Layout::kBelow);
  }
  Table servers;
  servers.header = {"server", "end", "peak RSS"};
  for (const auto& s : r.servers) {
    servers.rows.push_back(
        {"sdn serve --mode " + s.mode, s.end, kb_text(s.peak_rss_kb)});
  }
  body += servers.render();
  report::HtmlOptions page;
  page.title = "sdn bench serve";
  page.subtitle = subtitle;
  return report::render_page(page, body);
}

} // namespace sdn::app
