#include "sdn/report/console.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace sdn::report {

namespace {

using nlohmann::json;

// Formats a number with printf `spec`; "-" for null or absent values.
std::string fmt(const json& value, const char* spec) {
  if (!value.is_number()) {
    return "-";
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), spec, value.get<double>());
  return buf;
}

std::string pad(const std::string& text, int width) {
  if (static_cast<int>(text.size()) >= width) {
    return text + " ";
  }
  return std::string(static_cast<size_t>(width) - text.size(), ' ') + text;
}

std::string left(const std::string& text, int width) {
  if (static_cast<int>(text.size()) >= width) {
    return text + " ";
  }
  return text + std::string(static_cast<size_t>(width) - text.size(), ' ');
}

std::string exit_name(size_t e, size_t num_exits) {
  return e + 1 == num_exits ? "final" : "IC" + std::to_string(e + 1);
}

const json& at(const json& object, const char* key) {
  static const json kNull = nullptr;
  return object.is_object() && object.contains(key) ? object.at(key) : kNull;
}

std::string text_or(const json& value, const char* fallback) {
  return value.is_string() && !value.get<std::string>().empty() ?
      value.get<std::string>() :
      fallback;
}

void print_header(std::ostream& out, const json& r) {
  const json& t = at(r, "trace");
  out << "Trace " << text_or(at(t, "dir"), "(in memory)") << " (split "
      << text_or(at(t, "split"), "?") << ", checkpoint "
      << text_or(at(t, "checkpoint"), "?")
      << "): " << at(t, "num_samples").get<int64_t>() << " samples, "
      << at(t, "num_exits").get<int64_t>() << " exits, "
      << at(t, "num_classes").get<int64_t>() << " classes\n";
  out << "Thresholds selected on: " << at(r, "selection").get<std::string>()
      << "; samples no IC takes answered by: "
      << at(r, "no_exit_rule").get<std::string>() << "\n\n";
}

void print_exits(std::ostream& out, const json& r) {
  const json& cost = at(r, "exit_cost");
  const json& exact = at(r, "exit_cost_exact");
  const json& top1 = at(r, "exit_accuracy");
  const json& top5 = at(r, "exit_top5");
  out << "Per exit (cost relative to the CNN; accuracy %)\n"
      << left("exit", 7) << pad("cost", 8) << pad("exact", 8) << pad("top-1", 8)
      << pad("top-5", 8) << "\n";
  for (size_t e = 0; e < cost.size(); ++e) {
    out << left(exit_name(e, cost.size()), 7) << pad(fmt(cost[e], "%.3f"), 8)
        << pad(e < exact.size() ? fmt(exact[e], "%.3f") : "-", 8)
        << pad(fmt(top1[e], "%.2f"), 8) << pad(fmt(top5[e], "%.2f"), 8) << "\n";
  }
  out << "\n";
}

void print_sweep(std::ostream& out, const json& r) {
  const json& sweep = at(r, "sweep");
  if (!sweep.is_array()) {
    return;
  }
  const size_t num_exits = at(r, "exit_cost").size();
  out << "Early exit on the paper's grid (--json has the fine grid); % of "
         "samples leaving at each exit, 'none': no IC took them\n"
      << pad("q", 7) << pad("acc %", 8) << pad("cost", 7);
  for (size_t e = 0; e < num_exits; ++e) {
    out << pad(e + 1 == num_exits ? "none" : exit_name(e, num_exits), 7);
  }
  out << "\n";
  for (const json& p : sweep) {
    if (!at(p, "paper_grid").is_boolean() || !p.at("paper_grid")) {
      continue;
    }
    out << pad(fmt(p.at("threshold"), "%.3f"), 7)
        << pad(fmt(p.at("accuracy"), "%.2f"), 8)
        << pad(fmt(p.at("cost"), "%.3f"), 7);
    for (const json& f : p.at("exit_fraction")) {
      out << pad(
          f.is_number() ? fmt(json(100.0 * f.get<double>()), "%.1f") : "-", 7);
    }
    out << "\n";
  }
  out << "\n";
}

void print_budgets(std::ostream& out, const json& r) {
  const json& budgets = at(r, "budgets");
  if (!budgets.is_object()) {
    return;
  }
  const char* keys[] = {"0.25", "0.5", "0.75", "max"};
  const char* titles[] = {"<=25%", "<=50%", "<=75%", "Max"};
  out << "Budget table (thresholds picked on "
      << at(r, "selection").get<std::string>()
      << ", figures on the report trace)\n"
      << left("", 6) << pad("N.", 9);
  for (const char* title : titles) {
    out << pad(title, 9);
  }
  out << "\n" << left("acc %", 6) << pad(fmt(at(r, "cnn_accuracy"), "%.2f"), 9);
  for (const char* key : keys) {
    out << pad(fmt(at(at(budgets, key), "accuracy"), "%.2f"), 9);
  }
  out << "\n"
      << left("cost", 6)
      << pad(at(r, "cnn_accuracy").is_number() ? "1.000" : "-", 9);
  for (const char* key : keys) {
    out << pad(fmt(at(at(budgets, key), "cost"), "%.3f"), 9);
  }
  out << "\n" << left("q", 6) << pad("-", 9);
  for (const char* key : keys) {
    out << pad(fmt(at(at(budgets, key), "threshold"), "%.4g"), 9);
  }
  out << "\n\n";
}

void print_destructive(std::ostream& out, const json& d, const char* title) {
  out << title << ": " << at(d, "rescued").get<int64_t>() << " of "
      << at(d, "wrong_final").get<int64_t>()
      << " final-exit errors are right at some IC (rate "
      << fmt(at(d, "rate"), "%.3f") << ")\n"
      << left("exit", 7) << pad("count", 8) << pad("conf", 8)
      << pad("conf(all right)", 16) << "\n";
  const json& per_exit = at(d, "per_exit");
  for (size_t e = 0; e < per_exit.size(); ++e) {
    const json& x = per_exit[e];
    out << left("IC" + std::to_string(e + 1), 7)
        << pad(std::to_string(at(x, "count").get<int64_t>()), 8)
        << pad(fmt(at(x, "mean_confidence"), "%.3f"), 8)
        << pad(fmt(at(x, "mean_confidence_all_correct"), "%.3f"), 16) << "\n";
  }
}

void print_overthinking(std::ostream& out, const json& r) {
  const json& o = at(r, "overthinking");
  if (!o.is_object()) {
    return;
  }
  const json& w = at(o, "wasteful");
  const json& per_exit = at(w, "per_exit");
  out << "Wasteful overthinking (samples right)\n"
      << left("exit", 7) << pad("correct", 9) << pad("cumul.", 9)
      << pad("first", 9) << "\n";
  for (size_t e = 0; e < per_exit.size(); ++e) {
    const json& x = per_exit[e];
    out << left(exit_name(e, per_exit.size()), 7)
        << pad(std::to_string(at(x, "correct").get<int64_t>()), 9)
        << pad(std::to_string(at(x, "cumulative_correct").get<int64_t>()), 9)
        << pad(std::to_string(at(x, "first_correct").get<int64_t>()), 9)
        << "\n";
  }
  out << "Oracle cost: nominal " << fmt(at(w, "oracle_cost_nominal"), "%.3f")
      << ", measured " << fmt(at(w, "oracle_cost_measured"), "%.3f")
      << "; some IC right on "
      << fmt(json(100.0 * at(w, "ic_correct_fraction").get<double>()), "%.1f")
      << " % of samples\n\n";
  print_destructive(out, at(o, "destructive"), "Destructive overthinking");
  out << "\n";
}

void print_confusion(std::ostream& out, const json& r) {
  const json& c = at(r, "confusion");
  if (!c.is_object()) {
    return;
  }
  const json& conf = at(c, "confidence");
  out << "Confusion (normalised with the "
      << at(c, "normalized_with").get<std::string>()
      << " trace's statistics) vs confidence ("
      << at(conf, "source").get<std::string>() << ")\n"
      << left("", 12) << pad("correct", 9) << pad("wrong", 9) << pad("AUROC", 8)
      << pad("FNR", 8) << "\n"
      << left("confusion", 12) << pad(fmt(at(c, "mean_correct"), "%.3f"), 9)
      << pad(fmt(at(c, "mean_wrong"), "%.3f"), 9)
      << pad(fmt(at(c, "auroc"), "%.3f"), 8)
      << pad(fmt(at(c, "fnr_confusion"), "%.3f"), 8) << "\n"
      << left("confidence", 12) << pad(fmt(at(conf, "mean_correct"), "%.3f"), 9)
      << pad(fmt(at(conf, "mean_wrong"), "%.3f"), 9)
      << pad(fmt(at(c, "confidence_auroc"), "%.3f"), 8)
      << pad(fmt(at(c, "fnr_confidence"), "%.3f"), 8) << "\n"
      << "Correct samples above the wrong mean: "
      << at(c, "correct_above_wrong_mean").get<int64_t>()
      << "; wrong samples below the correct mean: "
      << at(c, "wrong_below_correct_mean").get<int64_t>() << "\n\n";
}

void print_backdoor(std::ostream& out, const json& r) {
  const json& b = at(r, "backdoor");
  if (!b.is_object()) {
    return;
  }
  const json& asr = at(b, "attack_success");
  out << "Backdoor (target class " << at(b, "target").get<int64_t>() << ", "
      << at(b, "num_attacked").get<int64_t>() << " triggered samples of other "
      << "classes)\n"
      << left("exit", 7) << pad("attack %", 10) << pad("clean %", 10)
      << pad("trig. %", 10) << "\n";
  for (size_t e = 0; e < asr.size(); ++e) {
    out << left(exit_name(e, asr.size()), 7) << pad(fmt(asr[e], "%.2f"), 10)
        << pad(fmt(at(b, "clean_accuracy")[e], "%.2f"), 10)
        << pad(fmt(at(b, "triggered_accuracy")[e], "%.2f"), 10) << "\n";
  }
  print_destructive(out, at(b, "destructive"), "On triggered inputs");
  out << "\n";
}

} // namespace

void print_report(std::ostream& out, const nlohmann::json& report) {
  print_header(out, report);
  print_exits(out, report);
  print_sweep(out, report);
  print_budgets(out, report);
  print_overthinking(out, report);
  print_confusion(out, report);
  print_backdoor(out, report);
}

} // namespace sdn::report
