#pragma once

#include "sdn/report/report_types.h"

#include <string>
#include <vector>

namespace sdn::report {

/// One image of a grid: PNG bytes and a caption.
struct ImageTile {
  std::string png; ///< PNG file bytes (e.g. from sdn::encode_png)
  std::string caption; ///< plain text, HTML-escaped when rendered
};

/// A titled grid of small images (samples, overthinking examples, ...).
struct ImageGrid {
  std::string title; ///< heading above the grid
  std::string description; ///< one paragraph under the heading (plain text)
  std::vector<ImageTile> tiles; ///< rendered in order, left to right
};

/// One report on the page: the report (build_report's, or a saved one read
/// with report_from_json) and optional image grids.
struct HtmlSection {
  std::string title; ///< heading; empty: the report's title, else "Report N"
  Report report; ///< the report (see docs/report.md)
  std::vector<ImageGrid> grids; ///< shown after the plots
};

/// Page-level options.
struct HtmlOptions {
  std::string title = "sdn report"; ///< <title> and top heading
  std::string subtitle; ///< a line under the heading (command, date, ...)
  /// Throws sdn::Error naming the bad field (an empty title).
  void validate() const;
};

/// Standard base64 (RFC 4648, with padding) of `bytes`.
std::string base64_encode(const std::string& bytes);

/// One self-contained HTML page: no network references, no scripts, no
/// external styles or fonts; plots are inline SVG, images data: URIs. With
/// two or more sections a comparison table (and, when at least two have a
/// sweep, a cost/accuracy plot of all of them) opens the page. Sections a
/// report lacks (null in its JSON) and undefined figures leave out what
/// needs them; a part whose values cannot be plotted (non-finite ranges)
/// shows an error line in its place. An image tile with no PNG bytes or an
/// empty page title throws sdn::Error.
std::string render_html(
    const std::vector<HtmlSection>& sections,
    const HtmlOptions& options = {});

/// A self-contained page in the report's style (its stylesheet, heading,
/// subtitle and footer) around `body_html` (HTML, escaped by the caller),
/// for pages that are not reports (`sdn bench serve --html`). Throws
/// sdn::Error for an empty title.
std::string render_page(
    const HtmlOptions& options,
    const std::string& body_html);

/// render_html written to `path` atomically (sdn::write_file_atomic).
void write_html(
    const std::string& path,
    const std::vector<HtmlSection>& sections,
    const HtmlOptions& options = {});

} // namespace sdn::report
