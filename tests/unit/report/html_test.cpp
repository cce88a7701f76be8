#include "sdn/report/html.h"
#include "sdn/util/error.h"
#include "sdn/util/files.h"

#include "report_test_util.h"
#include "temp_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

namespace fs = std::filesystem;
using nlohmann::json;
using sdn::report::HtmlOptions;
using sdn::report::HtmlSection;
using sdn::report::render_html;
using sdn::report::Report;
using sdn::report::report_from_json;
using sdn::report::SweepRow;
using namespace sdn::report::testing;

namespace {

// Plots of one complete report: accuracy, sweep, exit policies, calibration,
// distribution, overthinking, confusion, backdoor.
constexpr int kPlotsPerFullReport = 8;

// The page must not reach out of the file in any way.
void expect_self_contained(const std::string& html) {
  for (const char* bad :
       {"http://",
        "https://",
        "src=\"//",
        "href=\"//",
        "<script",
        "<link",
        "@import",
        "url(",
        "<iframe",
        "<object"}) {
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  }
  size_t at = 0;
  int images = 0;
  while ((at = html.find("<img", at)) != std::string::npos) {
    const size_t src = html.find(" src=\"", at);
    ASSERT_NE(src, std::string::npos);
    EXPECT_EQ(html.compare(src + 6, 22, "data:image/png;base64,"), 0)
        << html.substr(src, 40);
    at = src;
    ++images;
  }
  EXPECT_EQ(images, count_of(html, "<img"));
}

// Calls f on a copy of `value` with each value (objects and arrays, at any
// depth) replaced by `replacement`, with its JSON pointer.
void for_each_replaced(
    const json& value,
    const json& replacement,
    const std::function<void(const json&, const std::string&)>& f) {
  const json flat = value.flatten();
  std::set<std::string> paths;
  for (const auto& [path, leaf] : flat.items()) {
    (void)leaf;
    // Every prefix of a leaf path names an inner value too.
    for (size_t slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      paths.insert(path.substr(0, slash));
    }
    paths.insert(path);
  }
  for (const std::string& path : paths) {
    json copy = value;
    copy[json::json_pointer(path)] = replacement;
    f(copy, path);
  }
}

// "/sweep/3/cost" -> "sweep[3].cost", as report_from_json names keys.
std::string dotted(const std::string& pointer) {
  std::string out;
  size_t at = 1;
  while (at <= pointer.size()) {
    size_t end = pointer.find('/', at);
    if (end == std::string::npos) {
      end = pointer.size();
    }
    const std::string part = pointer.substr(at, end - at);
    const bool index = !part.empty() &&
        part.find_first_not_of("0123456789") == std::string::npos;
    out += index ? "[" + part + "]" : (out.empty() ? "" : ".") + part;
    at = end + 1;
  }
  return out;
}

} // namespace

TEST(Base64, MatchesRfc4648Vectors) {
  using sdn::report::base64_encode;
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\x00\xfe", 3)), "/wD+");
}

TEST(BalanceChecker, CatchesWhatItShould) {
  EXPECT_EQ(check_balance("<p><b>x</b><img src=\"a>b\"><br/></p>"), "");
  EXPECT_NE(check_balance("<p><b>x</p></b>"), "");
  EXPECT_NE(check_balance("<div>"), "");
  EXPECT_NE(check_balance("<p>a < b</p>"), "");
  EXPECT_EQ(check_balance("<style>a<b{}</style><!-- <x> -->"), "");
}

TEST(Html, FullReportIsWellFormedAndSelfContained) {
  HtmlSection section{"", fixture(), fixture_grids(6, 4)};
  HtmlOptions options;
  options.subtitle = "sdn report --html out.html (2024-01-01)";
  const std::string html = render_html({section}, options);
  EXPECT_EQ(check_balance(html), "");
  expect_self_contained(html);
  EXPECT_EQ(count_of(html, "<svg"), kPlotsPerFullReport);
  EXPECT_EQ(count_of(html, "<img"), 10);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  // Title from the report, its numbers formatted for reading.
  EXPECT_NE(html.find("VGG-16 SDN (IC-only) on CIFAR-10"), std::string::npos);
  EXPECT_NE(html.find("IC1 (15 %)"), std::string::npos);
  EXPECT_NE(html.find("Final (100 %)"), std::string::npos);
  EXPECT_NE(html.find(">0.148<"), std::string::npos);
  EXPECT_NE(html.find("93.4 %"), std::string::npos);
  EXPECT_NE(html.find("49.7 %"), std::string::npos); // destructive rate
  EXPECT_NE(html.find(">0.843<"), std::string::npos); // AUROC
  // Backdoor headline: destructive overthinking on the triggered trace.
  EXPECT_NE(html.find("62.0 % of the final exit"), std::string::npos);
  EXPECT_NE(html.find("(5549 of 8950)"), std::string::npos);
  EXPECT_NE(html.find("@media print"), std::string::npos);
  EXPECT_NE(html.find("image-rendering: pixelated"), std::string::npos);
  // Single report: no comparison block.
  EXPECT_EQ(html.find("id=\"comparison\""), std::string::npos);
}

TEST(Html, SeveralReportsGetAComparison) {
  Report second = fixture();
  second.title = "VGG-16 SDN (SDN training)";
  second.backdoor.reset();
  for (SweepRow& row : *second.sweep) {
    row.accuracy += 1.5;
  }
  const std::string html =
      render_html({{"", fixture(), {}}, {"", second, fixture_grids(2, 1)}}, {});
  EXPECT_EQ(check_balance(html), "");
  expect_self_contained(html);
  // Comparison plot + a full report + one without backdoor.
  EXPECT_EQ(count_of(html, "<svg"), 1 + kPlotsPerFullReport * 2 - 1);
  EXPECT_NE(html.find("id=\"comparison\""), std::string::npos);
  EXPECT_NE(html.find("href=\"#report-2\""), std::string::npos);
  EXPECT_NE(html.find("id=\"report-2\""), std::string::npos);
  EXPECT_EQ(count_of(html, "<img"), 3);
}

TEST(Html, EscapesEveryText) {
  Report report = fixture();
  report.title = "<b>bold</b> & \"quoted\"";
  report.trace.checkpoint = "<script>alert(1)</script>";
  HtmlSection section{"", report, fixture_grids(1, 1)};
  section.grids[0].title = "<i>grid</i>";
  section.grids[0].tiles[0].caption = "\"><script>x</script>";
  HtmlOptions options;
  options.title = "A <title> & more";
  options.subtitle = "<sub>";
  const std::string html = render_html({section, section}, options);
  EXPECT_EQ(check_balance(html), "");
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("<sub>"), std::string::npos);
  EXPECT_NE(
      html.find("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;"),
      std::string::npos);
  EXPECT_NE(
      html.find("<title>A &lt;title&gt; &amp; more</title>"),
      std::string::npos);
}

TEST(Html, EmptyReportsRender) {
  Report one_exit = fixture();
  one_exit.sweep.reset();
  one_exit.budgets.reset();
  one_exit.policies.reset();
  one_exit.overthinking.reset();
  one_exit.confusion.reset();
  one_exit.backdoor.reset();
  for (const Report& report : {Report{}, one_exit}) {
    std::string html;
    ASSERT_NO_THROW(html = render_html({{"", report, {}}}, {}));
    EXPECT_EQ(check_balance(html), "");
  }
  EXPECT_EQ(count_of(render_html({{"", Report{}, {}}}, {}), "<svg"), 0);
  // A CNN report: accuracy per exit and its calibration.
  EXPECT_EQ(count_of(render_html({{"", one_exit, {}}}, {}), "<svg"), 2);
}

TEST(Html, ExitPoliciesShareOnePlotAndOneTable) {
  Report report = fixture();
  report.policies.emplace();
  for (const char* name : {"max-prob", "patience", "ensemble"}) {
    sdn::report::PolicyResult result;
    for (int i = 1; i <= 4; ++i) {
      result.sweep.push_back(
          {static_cast<double>(i), 60.0 + i, 0.2 * i, {50, 20, 30}});
    }
    result.budgets.quarter = sdn::report::PolicyBudget{1, 61, 0.2};
    result.budgets.half = sdn::report::PolicyBudget{2, 62, 0.4};
    report.policies->emplace(name, result);
  }
  report.policies->at("ensemble").fitted_on = "train";
  const std::string html = render_html({{"", report, {}}}, {});
  EXPECT_EQ(check_balance(html), "");
  EXPECT_EQ(count_of(html, "<svg"), kPlotsPerFullReport);
  EXPECT_EQ(count_of(html, "Exit policies side by side"), 1);
  // One legend entry and one table row per policy.
  for (const char* name : {"max-prob", "patience", "ensemble"}) {
    EXPECT_GE(count_of(html, std::string(">") + name + "<"), 2) << name;
  }
  EXPECT_NE(html.find("62.0 at 0.400 (2)"), std::string::npos);
  expect_self_contained(html);
}

TEST(Html, OodDetectionGetsItsFigure) {
  Report report = fixture();
  sdn::report::Ood& ood = report.ood.emplace();
  ood.source = "inverted";
  ood.ood_trace.num_samples = 500;
  ood.auroc = {0.61, 0.66, 0.7, 0.74, 0.77, 0.8, 0.82};
  ood.early_exit = {{0.5, 0.71}, {0.9, 0.7891}, {0.42, 0.7123}};
  ood.confusion_auroc = 0.69;
  const std::string html = render_html({{"", report, {}}}, {});
  EXPECT_EQ(check_balance(html), "");
  EXPECT_EQ(count_of(html, "<svg"), kPlotsPerFullReport + 1);
  EXPECT_EQ(count_of(html, "Out-of-distribution detection"), 1);
  // The table keeps the paper's thresholds only (0.42 is not one).
  EXPECT_NE(html.find("0.7891"), std::string::npos);
  EXPECT_EQ(html.find("0.7123"), std::string::npos);
  expect_self_contained(html);
}

TEST(Html, BadReportJsonIsAnErrorNamingTheKey) {
  // Every value of the fixture, one at a time, nulled or of a wrong type:
  // either the report still reads (a nullable value, or free-form meta) and
  // renders, or reading it fails naming that value's key.
  int renders = 0;
  int errors = 0;
  for (const json& replacement : {json(), json("x")}) {
    for_each_replaced(
        fixture_json(),
        replacement,
        [&](const json& changed, const std::string& pointer) {
          Report report;
          try {
            report = report_from_json(changed, "fixture");
          } catch (const sdn::Error& e) {
            EXPECT_NE(
                std::string(e.what()).find("'" + dotted(pointer) + "'"),
                std::string::npos)
                << pointer << ": " << e.what();
            ++errors;
            return;
          }
          std::string html;
          ASSERT_NO_THROW(html = render_html({{"", report, {}}}, {}))
              << pointer;
          ASSERT_EQ(check_balance(html), "") << pointer;
          ++renders;
        });
  }
  EXPECT_GT(errors, 200);
  EXPECT_GT(renders, 20);
}

TEST(Html, AbsurdValuesCostOnlyTheirPart) {
  Report report = fixture();
  (*report.sweep)[0].cost = 1.7e308; // *1.02 overflows
  const std::string html = render_html({{"", report, {}}}, {});
  EXPECT_EQ(check_balance(html), "");
  EXPECT_EQ(count_of(html, "class=\"error\""), 1);
  EXPECT_NE(html.find("Cannot show early exit"), std::string::npos);
  EXPECT_EQ(count_of(html, "<svg"), kPlotsPerFullReport - 1);
  // The fixture itself shows no error.
  EXPECT_EQ(
      render_html({{"", fixture(), {}}}, {}).find("class=\"error\""),
      std::string::npos);
}

TEST(Html, MissingBudgetsShowDashes) {
  Report report = fixture();
  report.budgets->quarter.reset();
  report.cnn_accuracy.reset();
  const std::string html = render_html({{"", report, {}}}, {});
  EXPECT_EQ(check_balance(html), "");
  // Without a CNN, N. is the SDN's final exit.
  EXPECT_NE(html.find("N.: SDN final exit"), std::string::npos);
  EXPECT_EQ(html.find("CNN top-1"), std::string::npos);
  EXPECT_EQ(count_of(html, "<svg"), kPlotsPerFullReport);
}

TEST(Html, RejectsBadInput) {
  sdn::report::ImageGrid grid{"g", "", {{"not a png", "x"}}};
  EXPECT_THROW(render_html({{"", Report{}, {grid}}}, {}), sdn::Error);
  HtmlOptions options;
  options.title = "";
  EXPECT_THROW(render_html({}, options), sdn::Error);
  EXPECT_EQ(check_balance(render_html({}, {})), "");
}

TEST(Html, WriteHtmlWritesTheRenderedPage) {
  const fs::path dir = sdn::testing::unique_temp_dir("report_html_test");
  const std::vector<HtmlSection> sections = {{"T", fixture(), {}}};
  const std::string path = (dir / "r.html").string();
  sdn::report::write_html(path, sections, {});
  EXPECT_EQ(sdn::read_file(path), render_html(sections, {}));
  fs::remove_all(dir);
}

TEST(RenderPage, WrapsABodyInTheReportsPage) {
  HtmlOptions options;
  options.title = "load & latency";
  options.subtitle = "a subtitle";
  const std::string html =
      sdn::report::render_page(options, "<p id=\"body\">text</p>\n");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0U);
  EXPECT_NE(html.find("<title>load &amp; latency</title>"), std::string::npos);
  EXPECT_NE(
      html.find("<p class=\"subtitle\">a subtitle</p>"), std::string::npos);
  EXPECT_NE(
      html.find("</header>\n<p id=\"body\">text</p>\n<footer>"),
      std::string::npos);
  // The report's own stylesheet, and the page closed.
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_NE(html.find("</main></body></html>"), std::string::npos);
  expect_self_contained(html);
  options.title = "";
  EXPECT_THROW(sdn::report::render_page(options, ""), sdn::Error);
}
