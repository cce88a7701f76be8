// Renders a report page in headless Chromium: the screenshot must show a
// page (not blank), and the DOM Chromium builds must hold every plot and
// image the page emitted.

#include "sdn/report/html.h"
#include "sdn/util/files.h"

#include "report_test_util.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <png.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::json;
using namespace sdn::report;
using namespace sdn::report::testing;

namespace {

// Debian's chromium; scripts/setup installs it.
constexpr const char* kChromium = "/usr/bin/chromium";
// A cold Chromium start takes 10-20 s here; a hang must still end.
constexpr int kChromiumTimeoutS = 150;

struct Rgba {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;
};

Rgba read_png(const std::string& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  Rgba out;
  if (!png_image_begin_read_from_file(&image, path.c_str())) {
    ADD_FAILURE() << "cannot read " << path << ": " << image.message;
    return out;
  }
  image.format = PNG_FORMAT_RGBA;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) {
    ADD_FAILURE() << "cannot decode " << path << ": " << image.message;
    out.pixels.clear();
  }
  return out;
}

// Runs chromium headless on `page` with `mode` flags; stdout to `out`.
void run_chromium(
    const fs::path& dir,
    const std::string& name,
    const std::string& mode,
    const fs::path& page,
    const fs::path& out) {
  const fs::path profile = dir / ("profile-" + name);
  fs::create_directories(profile);
  const fs::path log = dir / (name + ".log");
  const std::string command = "timeout " + std::to_string(kChromiumTimeoutS) +
      " " + kChromium +
      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
      " --disable-background-networking --disable-component-update"
      " --disable-sync --user-data-dir='" +
      profile.string() + "' --window-size=1280,2000 " + mode + " 'file://" +
      page.string() + "' > '" + out.string() + "' 2> '" + log.string() + "'";
  const int rc = std::system(command.c_str());
  std::string tail;
  if (fs::exists(log)) {
    tail = sdn::read_file(log.string());
    tail = tail.substr(tail.size() > 2000 ? tail.size() - 2000 : 0);
  }
  ASSERT_EQ(rc, 0) << command << "\n" << tail;
}

} // namespace

TEST(HtmlE2e, ChromiumRendersEveryPlotAndImage) {
  if (!fs::exists(kChromium)) {
    GTEST_SKIP() << kChromium << " is missing, so the page is not rendered: "
                 << "scripts/setup installs Debian's chromium package";
  }
  const fs::path dir = sdn::testing::unique_temp_dir("report_e2e");

  sdn::report::Report second = fixture();
  second.title = "VGG-16 SDN (SDN training) on CIFAR-10";
  second.backdoor.reset();
  for (sdn::report::SweepRow& row : *second.sweep) {
    row.accuracy += 2.0;
  }
  for (const auto& column : sdn::report::budget_table_columns()) {
    if (auto& entry = (*second.budgets).*column.entry) {
      entry->accuracy += 2.0;
    }
  }
  const std::vector<HtmlSection> sections = {
      {"", fixture(), fixture_grids(10, 6)}, {"", second, {}}};
  HtmlOptions options;
  options.title = "sdn report: CIFAR-10 VGG-16";
  options.subtitle = "e2e fixture";
  const fs::path page = dir / "report.html";
  write_html(page.string(), sections, options);
  const std::string html = sdn::read_file(page.string());
  const int svgs = count_of(html, "<svg");
  const int images = count_of(html, "<img");
  ASSERT_EQ(svgs, 16);
  ASSERT_EQ(images, 16);

  const fs::path shot = dir / "shot.png";
  run_chromium(
      dir,
      "shot",
      "--screenshot='" + shot.string() + "'",
      page,
      dir / "shot.out");
  ASSERT_TRUE(fs::exists(shot)) << "chromium wrote no screenshot";
  const Rgba image = read_png(shot.string());
  ASSERT_EQ(image.width, 1280);
  ASSERT_EQ(image.height, 2000);
  std::set<uint32_t> colours;
  size_t ink = 0;
  for (size_t i = 0; i + 3 < image.pixels.size(); i += 4) {
    const uint8_t r = image.pixels[i], g = image.pixels[i + 1],
                  b = image.pixels[i + 2];
    colours.insert((uint32_t{r} << 16) | (uint32_t{g} << 8) | b);
    if (r < 235 || g < 235 || b < 235) {
      ++ink;
    }
  }
  const double ink_share =
      static_cast<double>(ink) / (image.pixels.size() / 4.0);
  // Text, plots and tables cover a few percent of a page; blank is ~0.
  EXPECT_GT(ink_share, 0.03);
  EXPECT_LT(ink_share, 0.9);
  // Antialiased text plus the palette's colours.
  EXPECT_GT(colours.size(), 200u);

  const fs::path dom = dir / "dom.html";
  run_chromium(dir, "dom", "--dump-dom", page, dom);
  const std::string rendered = sdn::read_file(dom.string());
  EXPECT_EQ(count_of(rendered, "<svg"), svgs);
  EXPECT_EQ(count_of(rendered, "<img"), images);
  EXPECT_NE(
      rendered.find("VGG-16 SDN (IC-only) on CIFAR-10"), std::string::npos);

  if (std::getenv("SDN_KEEP_E2E") == nullptr) {
    fs::remove_all(dir);
  } else {
    std::cerr << "kept " << dir << "\n";
  }
}
