#pragma once

#include <string>
#include <utility>
#include <vector>

/// Small inline-SVG plotting helpers for the HTML report: "nice" axis ticks,
/// linear scales, a colour-blind-safe palette and a Plot canvas that draws
/// lines, markers, bars, reference lines and a legend in data coordinates.
namespace sdn::report::svg {

/// Escapes & < > " ' so `text` is safe as HTML/SVG text or attribute value.
std::string escape(const std::string& text);

/// `value` with exactly `decimals` digits after the point ("-" for NaN/inf).
std::string fixed(double value, int decimals);

/// `value` with at most `decimals` digits after the point, trailing zeros
/// dropped ("0.5", "0.999", "12").
std::string trimmed(double value, int decimals);

/// Evenly spaced tick values with a step of 1, 2 or 5 times a power of ten,
/// all inside [lo, hi] (inclusive up to rounding), about `target` of them.
/// Returns {lo} when lo == hi; throws sdn::Error on non-finite input or
/// lo > hi or target < 2.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

/// The step nice_ticks uses for [lo, hi] and `target`.
double nice_step(double lo, double hi, int target = 6);

/// [lo, hi] widened outwards to multiples of nice_step, so ticks sit on the
/// ends; an empty interval is widened around its value.
std::pair<double, double> nice_range(double lo, double hi, int target = 6);

/// Decimals that print every multiple of `step` exactly (0 for step >= 1).
int decimals_for_step(double step);

/// Linear map from data [domain_lo, domain_hi] to pixels [range_lo,
/// range_hi]; a degenerate domain maps everything to the range's middle.
struct Scale {
  double domain_lo = 0.0; ///< data value at range_lo
  double domain_hi = 1.0; ///< data value at range_hi
  double range_lo = 0.0; ///< pixel coordinate of domain_lo
  double range_hi = 1.0; ///< pixel coordinate of domain_hi
  /// The pixel coordinate of data value `v` (extrapolates outside).
  double operator()(double v) const;
};

/// Okabe-Ito colour `index` (cycled), safe for the common colour-blindness
/// types; index 0 is blue, 1 orange, 2 bluish green, 3 vermillion.
std::string categorical_color(int index);

/// A colour from the viridis map (ordered, colour-blind safe) at t in [0,1].
std::string sequential_color(double t);

/// One labelled tick on an axis.
struct Tick {
  double value = 0.0; ///< data coordinate
  std::string label; ///< printed text
};

/// An axis: data range, label and ticks (automatic nice ticks when empty).
struct Axis {
  std::string label; ///< axis title, drawn beside the axis
  double lo = 0.0; ///< data value at the axis start
  double hi = 1.0; ///< data value at the axis end
  std::vector<Tick> ticks; ///< explicit ticks; empty: nice_ticks(lo, hi)
  int decimals = -1; ///< decimals of automatic labels; -1: from the step
  std::string suffix; ///< appended to automatic labels (e.g. " %")
  bool grid = true; ///< draw light grid lines at the ticks
};

/// Canvas geometry and axes of one plot.
struct PlotOptions {
  std::string title; ///< accessible name (<title>), not drawn
  double width = 640; ///< viewBox width in px
  double height = 340; ///< viewBox height in px
  Axis x; ///< horizontal axis
  Axis y; ///< vertical axis
  /// Rotate x tick labels (long categorical labels).
  bool rotate_x_labels = false;
  /// Validates sizes and ranges; throws sdn::Error naming the bad field.
  void validate() const;
};

/// A point in data coordinates.
struct Point {
  double x = 0.0; ///< data x
  double y = 0.0; ///< data y
};

/// Marker shapes.
enum class Marker { kCircle, kSquare, kDiamond };

/// An SVG plot built in data coordinates and rendered to one <svg> element
/// (viewBox, so it scales to its container). Non-finite data are skipped.
class Plot {
 public:
  /// Validates `options` and fixes the plot area.
  explicit Plot(PlotOptions options);

  /// A polyline through `points` (broken at non-finite points).
  void line(
      const std::vector<Point>& points,
      const std::string& color,
      double stroke_width = 2.0,
      bool dashed = false);
  /// One marker per point; `tooltips` (same length or empty) become <title>.
  void markers(
      const std::vector<Point>& points,
      const std::string& color,
      double radius = 3.5,
      Marker shape = Marker::kCircle,
      const std::vector<std::string>& tooltips = {},
      bool hollow = false);
  /// A filled rectangle spanning data [x0, x1] x [y0, y1].
  void rect(
      double x0,
      double x1,
      double y0,
      double y1,
      const std::string& color,
      double opacity = 1.0,
      const std::string& tooltip = "");
  /// A full-height vertical reference line at data x, with a small label.
  void vline(
      double x,
      const std::string& color,
      const std::string& label = "",
      bool dashed = true);
  /// A full-width horizontal reference line at data y, with a small label.
  void hline(
      double y,
      const std::string& color,
      const std::string& label = "",
      bool dashed = true);
  /// Text at data coordinates (anchor "start", "middle" or "end").
  void text(
      double x,
      double y,
      const std::string& content,
      const std::string& anchor = "middle",
      double dy = 0.0);
  /// A legend entry: kind "line", "dashed", "box", "marker" (filled circle)
  /// or "ring" (hollow circle).
  void legend(
      const std::string& name,
      const std::string& color,
      const std::string& kind = "box",
      double opacity = 1.0);

  /// Pixel x of data x.
  double px(double x) const {
    return x_(x);
  }
  /// Pixel y of data y.
  double py(double y) const {
    return y_(y);
  }
  /// The complete <svg> element.
  std::string render() const;

 private:
  std::string axes() const;
  std::string legend_block(int* rows) const;

  struct LegendEntry {
    std::string name;
    std::string color;
    std::string kind;
    double opacity;
  };
  PlotOptions options_;
  double left_ = 0, right_ = 0, top_ = 0, bottom_ = 0;
  Scale x_, y_;
  std::string body_;
  std::vector<LegendEntry> legend_;
};

} // namespace sdn::report::svg
