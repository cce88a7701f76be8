#include "sdn/report/html.h"

#include "sdn/report/html_figures.h"
#include "sdn/report/svg.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include <algorithm>
#include <tuple>

namespace sdn::report {

using detail::finite_value;
using svg::escape;

namespace {

// PNG files start with these eight bytes; anything else would show as a
// broken image.
constexpr char kPngSignature[] = "\x89PNG\r\n\x1a\n";

// One stylesheet for screen and print. System fonts only: the page must not
// load anything.
constexpr const char* kStyle = R"css(
:root { --ink: #1d1d1f; --muted: #5a5a60; --line: #d9d9de; --soft: #f5f6f8;
  --accent: #0072B2; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
    "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
header.page { border-bottom: 3px solid var(--accent); margin-bottom: 20px;
  padding-bottom: 10px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 36px 0 10px; padding-top: 8px;
  border-top: 1px solid var(--line); }
h3 { font-size: 17px; margin: 24px 0 6px; }
.subtitle { color: var(--muted); margin: 0; font-size: 14px; }
nav.toc { font-size: 14px; margin: 8px 0 0; }
nav.toc a { color: var(--accent); margin-right: 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 8px; }
.card { background: var(--soft); border: 1px solid var(--line);
  border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.card-value { font-size: 20px; font-weight: 600; }
.card-label { font-size: 12.5px; color: var(--muted); }
.headline { font-size: 15px; margin: 12px 0 4px; }
figure.fig { margin: 18px 0 22px; break-inside: avoid; page-break-inside: avoid; }
figure.fig > figcaption { font-weight: 600; font-size: 16px; margin-bottom: 6px; }
.fig-body { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
  gap: 18px; align-items: start; }
.fig-body.tables-only, .fig-body.below { grid-template-columns: minmax(0, 1fr); }
.fig-body.below .fig-plot { max-width: 720px; }
.fig-body.below .fig-tables, .fig-body.tables-only .fig-tables {
  display: flex; flex-wrap: wrap; gap: 4px 32px; align-items: flex-start; }
.fig-plot svg { width: 100%; height: auto; display: block; }
.fig-tables { overflow-x: auto; }
.note { color: var(--muted); font-size: 13px; margin: 6px 0 0; max-width: 78ch; }
table { border-collapse: collapse; font-size: 13px; margin: 0 0 14px;
  font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; font-size: 13px; padding: 0 0 4px;
  color: var(--muted); }
th, td { padding: 3px 9px; border-bottom: 1px solid var(--line);
  text-align: right; white-space: nowrap; }
th[scope=row], thead th:first-child { text-align: left; }
th[scope=row] { white-space: normal; min-width: 8ch; }
thead th { border-bottom: 2px solid #9a9aa2; background: var(--soft); }
.run table { font-size: 12.5px; }
.run { margin: 4px 0 0; }
.grid-block { break-inside: avoid; page-break-inside: avoid; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; }
.tile { margin: 0; width: 104px; text-align: center; }
.tile img { width: 96px; height: 96px; object-fit: contain;
  image-rendering: pixelated; image-rendering: crisp-edges;
  border: 1px solid var(--line); background: var(--soft); }
.tile figcaption { font-size: 11.5px; color: var(--muted); line-height: 1.25;
  overflow-wrap: anywhere; }
.error { color: #a40000; border-left: 3px solid #a40000; padding-left: 8px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media (max-width: 860px) { .fig-body { grid-template-columns: minmax(0, 1fr); } }
@media print {
  @page { margin: 14mm 12mm; }
  body { font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  h2 { break-before: page; border-top: none; margin-top: 0; }
  section:first-of-type h2, .comparison h2 { break-before: auto; }
  h2, h3, figcaption { break-after: avoid; page-break-after: avoid; }
  .fig-body { grid-template-columns: minmax(0, 1fr); }
  .fig-plot svg { max-width: 16cm; }
  table { font-size: 9pt; }
  .fig-tables { overflow: visible; }
  th, td { white-space: normal; padding: 2px 5px; }
  tr { break-inside: avoid; }
  .card { border-color: #aaa; }
}
)css";

std::string section_title(const HtmlSection& section, size_t index) {
  if (!section.title.empty()) {
    return section.title;
  }
  if (section.report.title && !section.report.title->empty()) {
    return *section.report.title;
  }
  return "Report " + std::to_string(index + 1);
}

std::string grid_html(const ImageGrid& grid) {
  std::string out = "<div class=\"grid-block\">";
  if (!grid.title.empty()) {
    out += "<h3>" + escape(grid.title) + "</h3>";
  }
  if (!grid.description.empty()) {
    out += "<p class=\"note\">" + escape(grid.description) + "</p>";
  }
  out += "<div class=\"tiles\">\n";
  for (const ImageTile& tile : grid.tiles) {
    out += "<figure class=\"tile\"><img src=\"data:image/png;base64," +
        base64_encode(tile.png) + "\" alt=\"" + escape(tile.caption) +
        "\"><figcaption>" + escape(tile.caption) + "</figcaption></figure>\n";
  }
  return out + "</div></div>\n";
}

// Summary of several reports side by side: one row each.
std::string comparison_html(
    const std::vector<HtmlSection>& sections,
    const std::vector<std::string>& titles) {
  detail::Table table;
  table.header = {
      "Report",
      "Final (%)",
      "CNN (%)",
      "<= 25 %",
      "<= 50 %",
      "<= 75 %",
      "Max",
      "Destructive",
      "AUROC"};
  const auto budget_cell = [](const Report& report,
                              std::optional<BudgetEntry> Budgets::*entry) {
    const auto b = detail::budget(report, entry);
    if (!b) {
      return std::string("-");
    }
    return svg::fixed(b->accuracy, 1) + " @ " + detail::cost(b->cost);
  };
  svg::PlotOptions options;
  options.title = "Accuracy against average cost, all reports";
  options.x.label = "average cost relative to the CNN";
  options.y.label = "top-1 accuracy (%)";
  std::vector<std::vector<svg::Point>> lines(sections.size());
  std::vector<double> xs = {1.0}, ys;
  for (size_t s = 0; s < sections.size(); ++s) {
    const Report& r = sections[s].report;
    const std::vector<double>& acc = r.exit_accuracy;
    const auto cnn = finite_value(r.cnn_accuracy);
    const auto rate = r.overthinking ?
        finite_value(r.overthinking->destructive.rate) :
        std::nullopt;
    const auto auroc =
        r.confusion ? finite_value(r.confusion->auroc) : std::nullopt;
    std::vector<std::string> row = {
        titles[s],
        acc.empty() ? "-" : svg::fixed(acc.back(), 1),
        cnn ? svg::fixed(*cnn, 1) : "-"};
    for (const BudgetColumn& column : budget_table_columns()) {
      row.push_back(budget_cell(r, column.entry));
    }
    row.push_back(rate ? detail::fraction_percent(*rate) : "-");
    row.push_back(auroc ? svg::fixed(*auroc, 3) : "-");
    table.rows.push_back(row);
    if (r.sweep) {
      for (const SweepRow& point : *r.sweep) {
        const auto c = finite_value(point.cost);
        const auto a = finite_value(point.accuracy);
        if (c && a) {
          lines[s].push_back({*c, *a});
          xs.push_back(*c);
          ys.push_back(*a);
        }
      }
      std::sort(lines[s].begin(), lines[s].end(), [](auto& a, auto& b) {
        return a.x < b.x;
      });
    }
    if (cnn) {
      ys.push_back(*cnn);
    }
  }
  std::string out =
      "<section class=\"comparison\" id=\"comparison\"><h2>Comparison</h2>\n";
  std::string plot_svg;
  const size_t with_sweep = static_cast<size_t>(std::count_if(
      lines.begin(), lines.end(), [](const auto& l) { return !l.empty(); }));
  if (with_sweep >= 2) {
    options.x.lo = 0;
    options.x.hi =
        svg::nice_range(0, detail::max_finite(xs, 1.0) * 1.02).second;
    const double lo = detail::min_finite(ys, 0);
    const double hi = detail::max_finite(ys, 100);
    const double pad = std::max(1.0, (hi - lo) * 0.08);
    std::tie(options.y.lo, options.y.hi) =
        svg::nice_range(std::max(0.0, lo - pad), std::min(100.0, hi + pad));
    svg::Plot plot(options);
    for (double f : {0.25, 0.5, 0.75}) {
      plot.vline(f, "#888", "<= " + svg::fixed(f * 100, 0) + " %");
    }
    for (size_t s = 0; s < lines.size(); ++s) {
      if (lines[s].empty()) {
        continue;
      }
      const std::string color = svg::categorical_color(static_cast<int>(s));
      plot.line(lines[s], color);
      plot.markers(
          lines[s],
          color,
          3.5,
          s % 2 == 0 ? svg::Marker::kCircle : svg::Marker::kDiamond);
      plot.legend(titles[s], color, "line");
      if (const auto cnn = finite_value(sections[s].report.cnn_accuracy)) {
        plot.markers(
            {{1.0, *cnn}},
            color,
            5.5,
            svg::Marker::kSquare,
            {titles[s] + " CNN: " + detail::percent(*cnn)},
            /*hollow=*/true);
      }
    }
    plot_svg = plot.render();
  }
  out += detail::figure(
      "All reports side by side",
      plot_svg,
      table.render(),
      "Budget cells: top-1 % @ average cost relative to the CNN. Destructive: "
      "share of the final exit's mistakes some IC got right. AUROC: "
      "confusion as a mistake detector. Hollow squares mark each report's "
      "CNN at cost 1.0.",
      detail::Layout::kBelow);
  return out + "</section>\n";
}

} // namespace

void HtmlOptions::validate() const {
  check(!title.empty(), "HtmlOptions.title must not be empty");
}

std::string base64_encode(const std::string& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto a = static_cast<unsigned char>(bytes[i]);
    const auto b = static_cast<unsigned char>(bytes[i + 1]);
    const auto c = static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[a >> 2];
    out += kAlphabet[((a & 3) << 4) | (b >> 4)];
    out += kAlphabet[((b & 15) << 2) | (c >> 6)];
    out += kAlphabet[c & 63];
  }
  if (i + 1 == bytes.size()) {
    const auto a = static_cast<unsigned char>(bytes[i]);
    out += kAlphabet[a >> 2];
    out += kAlphabet[(a & 3) << 4];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const auto a = static_cast<unsigned char>(bytes[i]);
    const auto b = static_cast<unsigned char>(bytes[i + 1]);
    out += kAlphabet[a >> 2];
    out += kAlphabet[((a & 3) << 4) | (b >> 4)];
    out += kAlphabet[(b & 15) << 2];
    out += '=';
  }
  return out;
}

std::string render_html(
    const std::vector<HtmlSection>& sections,
    const HtmlOptions& options) {
  options.validate();
  std::vector<std::string> titles;
  for (size_t s = 0; s < sections.size(); ++s) {
    const HtmlSection& section = sections[s];
    for (const ImageGrid& grid : section.grids) {
      for (const ImageTile& tile : grid.tiles) {
        check(
            tile.png.compare(0, 8, kPngSignature, 8) == 0,
            "image '",
            tile.caption,
            "' in grid '",
            grid.title,
            "' is not PNG data (",
            tile.png.size(),
            " bytes)");
      }
    }
    titles.push_back(section_title(section, s));
  }
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, "
      "initial-scale=1\">\n<title>" +
      escape(options.title) + "</title>\n<style>" + kStyle +
      "</style></head>\n<body><main>\n<header class=\"page\"><h1>" +
      escape(options.title) + "</h1>\n";
  if (!options.subtitle.empty()) {
    out += "<p class=\"subtitle\">" + escape(options.subtitle) + "</p>\n";
  }
  if (sections.size() > 1) {
    out += "<nav class=\"toc\"><a href=\"#comparison\">Comparison</a>";
    for (size_t s = 0; s < sections.size(); ++s) {
      out += "<a href=\"#report-" + std::to_string(s + 1) + "\">" +
          escape(titles[s]) + "</a>";
    }
    out += "</nav>\n";
  }
  out += "</header>\n";
  if (sections.empty()) {
    out += "<p>No reports.</p>\n";
  }
  if (sections.size() > 1) {
    out += comparison_html(sections, titles);
  }
  for (size_t s = 0; s < sections.size(); ++s) {
    const Report& r = sections[s].report;
    out += "<section id=\"report-" + std::to_string(s + 1) + "\"><h2>" +
        escape(titles[s]) + "</h2>\n";
    using Part = std::string (*)(const Report&);
    for (const auto& [name, part] : std::vector<std::pair<const char*, Part>>{
             {"headline", detail::headline_cards},
             {"run facts", detail::run_table},
             {"accuracy per exit", detail::accuracy_figure},
             {"early exit", detail::sweep_figure},
             {"exit policies", detail::policies_figure},
             {"calibration", detail::calibration_figure},
             {"exit distribution", detail::distribution_figure},
             {"overthinking", detail::overthinking_figure},
             {"confusion", detail::confusion_figure},
             {"backdoor", detail::backdoor_figure},
             {"out-of-distribution detection", detail::ood_figure}}) {
      // Values no plot can hold (e.g. 1e308) cost that part, not the page.
      try {
        out += part(r);
      } catch (const Error& e) {
        out += "<p class=\"error\">Cannot show " + std::string(name) + ": " +
            escape(e.what()) + "</p>\n";
      }
    }
    for (const ImageGrid& grid : sections[s].grids) {
      out += grid_html(grid);
    }
    out += "</section>\n";
  }
  out +=
      "<footer>Generated by sdn. Self-contained: no scripts, fonts or "
      "network requests.</footer>\n</main></body></html>\n";
  return out;
}

void write_html(
    const std::string& path,
    const std::vector<HtmlSection>& sections,
    const HtmlOptions& options) {
  write_file_atomic(path, render_html(sections, options));
}

} // namespace sdn::report
