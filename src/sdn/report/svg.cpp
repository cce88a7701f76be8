#include "sdn/report/svg.h"

#include "sdn/util/error.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace sdn::report::svg {

namespace {

// Pixel margins around the plot area: room for tick labels and axis titles.
constexpr double kMarginLeft = 62;
constexpr double kMarginRight = 18;
constexpr double kMarginTop = 14;
constexpr double kMarginBottom = 46;
// Rotated x labels need more room below the axis.
constexpr double kMarginBottomRotated = 78;
// Legend rows: height of one row and a rough width per character at 12 px,
// enough to wrap entries without measuring text.
constexpr double kLegendRow = 20;
constexpr double kCharWidth = 6.6;
// Text colour with >7:1 contrast on white; grid and axis greys.
constexpr const char* kInk = "#222";
constexpr const char* kGrid = "#e3e3e3";
constexpr const char* kAxis = "#555";
// A white outline under reference-line labels keeps them legible over bars.
constexpr const char* kHalo =
    " stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\"";

std::string num(double v) {
  // Two decimals are sub-pixel precise for a few-hundred-pixel viewBox.
  return trimmed(v, 2);
}

std::vector<Tick> resolved_ticks(const Axis& axis) {
  if (!axis.ticks.empty()) {
    return axis.ticks;
  }
  const double step = nice_step(axis.lo, axis.hi);
  const int decimals =
      axis.decimals >= 0 ? axis.decimals : decimals_for_step(step);
  std::vector<Tick> ticks;
  for (double v : nice_ticks(axis.lo, axis.hi)) {
    ticks.push_back({v, fixed(v, decimals) + axis.suffix});
  }
  return ticks;
}

} // namespace

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed(double value, int decimals) {
  if (!std::isfinite(value)) {
    return "-";
  }
  decimals = std::clamp(decimals, 0, 12);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  std::string out = buffer;
  // "-0.0" reads like a sign error.
  if (out[0] == '-' && out.find_first_not_of("-0.") == std::string::npos) {
    out.erase(0, 1);
  }
  return out;
}

std::string trimmed(double value, int decimals) {
  std::string out = fixed(value, decimals);
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') {
      out.pop_back();
    }
    if (out.back() == '.') {
      out.pop_back();
    }
  }
  return out;
}

double nice_step(double lo, double hi, int target) {
  check(
      std::isfinite(lo) && std::isfinite(hi),
      "axis range must be finite, got [",
      lo,
      ", ",
      hi,
      "]");
  check(lo <= hi, "axis range must have lo <= hi, got [", lo, ", ", hi, "]");
  check(target >= 2, "tick target must be at least 2, got ", target);
  const double span = hi - lo;
  if (span <= 0) {
    return 1.0;
  }
  const double raw = span / (target - 1);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / power;
  double step = 10.0;
  for (double candidate : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (fraction <= candidate * 1.0001) {
      step = candidate;
      break;
    }
  }
  return step * power;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  const double step = nice_step(lo, hi, target);
  if (hi <= lo) {
    return {lo};
  }
  // Tolerance so a bound that is a multiple of the step up to rounding
  // still gets its tick.
  const double eps = step * 1e-9;
  std::vector<double> ticks;
  for (double k = std::ceil((lo - eps) / step); k * step <= hi + eps; k += 1) {
    const double v = k * step;
    ticks.push_back(std::abs(v) < eps ? 0.0 : v);
  }
  return ticks;
}

std::pair<double, double> nice_range(double lo, double hi, int target) {
  if (hi <= lo) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double step = nice_step(lo, hi, target);
  return {
      std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step};
}

int decimals_for_step(double step) {
  if (!(step > 0) || step >= 1) {
    return 0;
  }
  int decimals = 0;
  double scaled = step;
  while (decimals < 8 && std::abs(scaled - std::round(scaled)) > 1e-6) {
    scaled *= 10;
    ++decimals;
  }
  return decimals;
}

double Scale::operator()(double v) const {
  const double span = domain_hi - domain_lo;
  if (span == 0) {
    return (range_lo + range_hi) / 2;
  }
  return range_lo + (v - domain_lo) / span * (range_hi - range_lo);
}

std::string categorical_color(int index) {
  // Okabe & Ito (2008), without yellow (too light on white) and black
  // (reserved for reference lines).
  static const std::array<const char*, 6> kColors = {
      "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"};
  const int n = static_cast<int>(kColors.size());
  return kColors[((index % n) + n) % n];
}

std::string sequential_color(double t) {
  // Viridis sampled at nine points; linear interpolation in between.
  static const std::array<std::array<int, 3>, 9> kViridis = {{
      {68, 1, 84},
      {71, 44, 122},
      {59, 81, 139},
      {44, 113, 142},
      {33, 144, 141},
      {39, 173, 129},
      {92, 200, 99},
      {170, 220, 50},
      {253, 231, 37},
  }};
  if (!std::isfinite(t)) {
    t = 0;
  }
  t = std::clamp(t, 0.0, 1.0) * (kViridis.size() - 1);
  const size_t i = std::min(static_cast<size_t>(t), kViridis.size() - 2);
  const double f = t - static_cast<double>(i);
  char buffer[8];
  int rgb[3];
  for (int c = 0; c < 3; ++c) {
    rgb[c] = static_cast<int>(
        std::lround(kViridis[i][c] * (1 - f) + kViridis[i + 1][c] * f));
  }
  std::snprintf(
      buffer, sizeof(buffer), "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buffer;
}

void PlotOptions::validate() const {
  check(
      std::isfinite(width) && width >= 100,
      "plot width must be at least 100 px, got ",
      width);
  check(
      std::isfinite(height) && height >= 100,
      "plot height must be at least 100 px, got ",
      height);
  check(
      std::isfinite(x.lo) && std::isfinite(x.hi) && x.lo < x.hi,
      "plot x axis needs finite lo < hi, got [",
      x.lo,
      ", ",
      x.hi,
      "]");
  check(
      std::isfinite(y.lo) && std::isfinite(y.hi) && y.lo < y.hi,
      "plot y axis needs finite lo < hi, got [",
      y.lo,
      ", ",
      y.hi,
      "]");
}

Plot::Plot(PlotOptions options) : options_(std::move(options)) {
  options_.validate();
  left_ = kMarginLeft;
  right_ = options_.width - kMarginRight;
  top_ = kMarginTop;
  bottom_ = options_.height -
      (options_.rotate_x_labels ? kMarginBottomRotated : kMarginBottom);
  x_ = Scale{options_.x.lo, options_.x.hi, left_, right_};
  y_ = Scale{options_.y.lo, options_.y.hi, bottom_, top_};
}

void Plot::line(
    const std::vector<Point>& points,
    const std::string& color,
    double stroke_width,
    bool dashed) {
  std::string path;
  bool pen_down = false;
  for (const Point& p : points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
      pen_down = false;
      continue;
    }
    path += (pen_down ? " L" : (path.empty() ? "M" : " M")) + num(px(p.x)) +
        "," + num(py(p.y));
    pen_down = true;
  }
  if (path.empty()) {
    return;
  }
  body_ += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + escape(color) +
      "\" stroke-width=\"" + num(stroke_width) +
      "\" stroke-linejoin=\"round\"" +
      (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
}

void Plot::markers(
    const std::vector<Point>& points,
    const std::string& color,
    double radius,
    Marker shape,
    const std::vector<std::string>& tooltips,
    bool hollow) {
  const std::string paint = hollow ?
      "fill=\"#fff\" stroke=\"" + escape(color) + "\" stroke-width=\"2\"" :
      "fill=\"" + escape(color) + "\" stroke=\"#fff\" stroke-width=\"1\"";
  for (size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
      continue;
    }
    const double cx = px(p.x);
    const double cy = py(p.y);
    std::string shape_tag;
    if (shape == Marker::kCircle) {
      shape_tag = "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"" +
          num(radius) + "\" " + paint;
    } else if (shape == Marker::kSquare) {
      shape_tag = "<rect x=\"" + num(cx - radius) + "\" y=\"" +
          num(cy - radius) + "\" width=\"" + num(2 * radius) + "\" height=\"" +
          num(2 * radius) + "\" " + paint;
    } else {
      const double r = radius * 1.3;
      shape_tag = "<polygon points=\"" + num(cx) + "," + num(cy - r) + " " +
          num(cx + r) + "," + num(cy) + " " + num(cx) + "," + num(cy + r) +
          " " + num(cx - r) + "," + num(cy) + "\" " + paint;
    }
    if (i < tooltips.size() && !tooltips[i].empty()) {
      body_ += shape_tag + "><title>" + escape(tooltips[i]) + "</title>" +
          "</" + shape_tag.substr(1, shape_tag.find(' ') - 1) + ">\n";
    } else {
      body_ += shape_tag + "/>\n";
    }
  }
}

void Plot::rect(
    double x0,
    double x1,
    double y0,
    double y1,
    const std::string& color,
    double opacity,
    const std::string& tooltip) {
  if (!std::isfinite(x0) || !std::isfinite(x1) || !std::isfinite(y0) ||
      !std::isfinite(y1)) {
    return;
  }
  const double left = std::min(px(x0), px(x1));
  const double width = std::abs(px(x1) - px(x0));
  const double top = std::min(py(y0), py(y1));
  const double height = std::abs(py(y1) - py(y0));
  std::string tag = "<rect x=\"" + num(left) + "\" y=\"" + num(top) +
      "\" width=\"" + num(width) + "\" height=\"" + num(height) + "\" fill=\"" +
      escape(color) + "\"";
  if (opacity < 1.0) {
    tag += " fill-opacity=\"" + trimmed(opacity, 3) + "\"";
  }
  body_ += tooltip.empty() ?
      tag + "/>\n" :
      tag + "><title>" + escape(tooltip) + "</title></rect>\n";
}

void Plot::vline(
    double x,
    const std::string& color,
    const std::string& label,
    bool dashed) {
  if (!std::isfinite(x)) {
    return;
  }
  const double p = px(x);
  body_ += "<line x1=\"" + num(p) + "\" x2=\"" + num(p) + "\" y1=\"" +
      num(top_) + "\" y2=\"" + num(bottom_) + "\" stroke=\"" + escape(color) +
      "\" stroke-width=\"1.5\"" + (dashed ? " stroke-dasharray=\"5 4\"" : "") +
      "/>\n";
  if (!label.empty()) {
    body_ += "<text x=\"" + num(p + 4) + "\" y=\"" + num(top_ + 11) +
        "\" font-size=\"11\" fill=\"" + escape(color) + "\"" + kHalo + ">" +
        escape(label) + "</text>\n";
  }
}

void Plot::hline(
    double y,
    const std::string& color,
    const std::string& label,
    bool dashed) {
  if (!std::isfinite(y)) {
    return;
  }
  const double p = py(y);
  body_ += "<line x1=\"" + num(left_) + "\" x2=\"" + num(right_) + "\" y1=\"" +
      num(p) + "\" y2=\"" + num(p) + "\" stroke=\"" + escape(color) +
      "\" stroke-width=\"1.5\"" + (dashed ? " stroke-dasharray=\"5 4\"" : "") +
      "/>\n";
  if (!label.empty()) {
    body_ += "<text x=\"" + num(right_ - 4) + "\" y=\"" + num(p - 5) +
        "\" font-size=\"11\" text-anchor=\"end\" fill=\"" + escape(color) +
        "\"" + kHalo + ">" + escape(label) + "</text>\n";
  }
}

void Plot::text(
    double x,
    double y,
    const std::string& content,
    const std::string& anchor,
    double dy) {
  if (!std::isfinite(x) || !std::isfinite(y)) {
    return;
  }
  body_ += "<text x=\"" + num(px(x)) + "\" y=\"" + num(py(y) + dy) +
      "\" font-size=\"11\" text-anchor=\"" + escape(anchor) + "\" fill=\"" +
      kInk + "\">" + escape(content) + "</text>\n";
}

void Plot::legend(
    const std::string& name,
    const std::string& color,
    const std::string& kind,
    double opacity) {
  legend_.push_back({name, color, kind, opacity});
}

std::string Plot::axes() const {
  std::string out;
  // Grid first so data and axes draw over it.
  const std::vector<Tick> xt = resolved_ticks(options_.x);
  const std::vector<Tick> yt = resolved_ticks(options_.y);
  for (const Tick& t : yt) {
    const double p = py(t.value);
    if (options_.y.grid) {
      out += "<line x1=\"" + num(left_) + "\" x2=\"" + num(right_) +
          "\" y1=\"" + num(p) + "\" y2=\"" + num(p) + "\" stroke=\"" + kGrid +
          "\"/>\n";
    }
  }
  for (const Tick& t : xt) {
    const double p = px(t.value);
    if (options_.x.grid) {
      out += "<line x1=\"" + num(p) + "\" x2=\"" + num(p) + "\" y1=\"" +
          num(top_) + "\" y2=\"" + num(bottom_) + "\" stroke=\"" + kGrid +
          "\"/>\n";
    }
  }
  return out;
}

std::string Plot::legend_block(int* rows) const {
  // Greedy row wrapping with an estimated text width.
  std::string out;
  double x = left_;
  double row = 0;
  for (const LegendEntry& e : legend_) {
    const double w = 26 + kCharWidth * static_cast<double>(e.name.size()) + 16;
    if (x + w > options_.width - 4 && x > left_) {
      x = left_;
      row += 1;
    }
    const double y = 12 + row * kLegendRow;
    const std::string c = escape(e.color);
    if (e.kind == "line" || e.kind == "dashed") {
      out += "<line x1=\"" + num(x) + "\" x2=\"" + num(x + 20) + "\" y1=\"" +
          num(y) + "\" y2=\"" + num(y) + "\" stroke=\"" + c +
          "\" stroke-width=\"2.5\"" +
          (e.kind == "dashed" ? " stroke-dasharray=\"5 3\"" : "") + "/>\n";
    } else if (e.kind == "ring") {
      out += "<circle cx=\"" + num(x + 10) + "\" cy=\"" + num(y) +
          "\" r=\"5\" fill=\"#fff\" stroke=\"" + c +
          "\" stroke-width=\"2\"/>\n";
    } else if (e.kind == "marker") {
      out += "<circle cx=\"" + num(x + 10) + "\" cy=\"" + num(y) +
          "\" r=\"5\" fill=\"" + c + "\"/>\n";
    } else {
      out += "<rect x=\"" + num(x + 3) + "\" y=\"" + num(y - 6) +
          "\" width=\"14\" height=\"12\" fill=\"" + c + "\"" +
          (e.opacity < 1.0 ? " fill-opacity=\"" + trimmed(e.opacity, 3) + "\"" :
                             std::string()) +
          " stroke=\"" + c + "\"/>\n";
    }
    out += "<text x=\"" + num(x + 26) + "\" y=\"" + num(y + 4) +
        "\" font-size=\"12\" fill=\"" + kInk + "\">" + escape(e.name) +
        "</text>\n";
    x += w;
  }
  *rows = static_cast<int>(row) + 1;
  return out;
}

std::string Plot::render() const {
  double legend_height = 0;
  std::string legend;
  if (!legend_.empty()) {
    int rows = 1;
    legend = legend_block(&rows);
    legend_height = rows * kLegendRow + 4;
  }
  const double total_height = options_.height + legend_height;
  std::string out = "<svg viewBox=\"0 0 " + num(options_.width) + " " +
      num(total_height) + "\" role=\"img\" class=\"plot\"><title>" +
      escape(options_.title) + "</title>\n";
  out += legend;
  out += "<g transform=\"translate(0," + num(legend_height) + ")\">\n";
  out += axes();
  out += body_;
  // Axis lines, ticks and labels on top of the data.
  out += "<g stroke=\"" + std::string(kAxis) + "\" stroke-width=\"1\">" +
      "<line x1=\"" + num(left_) + "\" x2=\"" + num(right_) + "\" y1=\"" +
      num(bottom_) + "\" y2=\"" + num(bottom_) + "\"/><line x1=\"" +
      num(left_) + "\" x2=\"" + num(left_) + "\" y1=\"" + num(top_) +
      "\" y2=\"" + num(bottom_) + "\"/></g>\n";
  for (const Tick& t : resolved_ticks(options_.x)) {
    const double p = px(t.value);
    out += "<line x1=\"" + num(p) + "\" x2=\"" + num(p) + "\" y1=\"" +
        num(bottom_) + "\" y2=\"" + num(bottom_ + 5) + "\" stroke=\"" + kAxis +
        "\"/>";
    if (options_.rotate_x_labels) {
      out += "<text transform=\"translate(" + num(p + 4) + "," +
          num(bottom_ + 10) + ") rotate(-35)\" font-size=\"11\" " +
          "text-anchor=\"end\" fill=\"" + kInk + "\">" + escape(t.label) +
          "</text>\n";
    } else {
      out += "<text x=\"" + num(p) + "\" y=\"" + num(bottom_ + 18) +
          "\" font-size=\"11\" text-anchor=\"middle\" fill=\"" + kInk + "\">" +
          escape(t.label) + "</text>\n";
    }
  }
  for (const Tick& t : resolved_ticks(options_.y)) {
    const double p = py(t.value);
    out += "<line x1=\"" + num(left_ - 5) + "\" x2=\"" + num(left_) +
        "\" y1=\"" + num(p) + "\" y2=\"" + num(p) + "\" stroke=\"" + kAxis +
        "\"/><text x=\"" + num(left_ - 8) + "\" y=\"" + num(p + 4) +
        "\" font-size=\"11\" text-anchor=\"end\" fill=\"" + kInk + "\">" +
        escape(t.label) + "</text>\n";
  }
  out += "<text x=\"" + num((left_ + right_) / 2) + "\" y=\"" +
      num(options_.height - 8) +
      "\" font-size=\"12\" text-anchor=\"middle\" fill=\"" + kInk + "\">" +
      escape(options_.x.label) + "</text>\n";
  out += "<text transform=\"translate(14," + num((top_ + bottom_) / 2) +
      ") rotate(-90)\" font-size=\"12\" text-anchor=\"middle\" fill=\"" + kInk +
      "\">" + escape(options_.y.label) + "</text>\n";
  out += "</g></svg>\n";
  return out;
}

} // namespace sdn::report::svg
