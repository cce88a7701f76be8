#include "sdn/data/grid.h"

#include "test_files.h"

#include <gtest/gtest.h>

using namespace sdn::data;

TEST(Grid, TilesAndLabelDigits) {
  Dataset d;
  d.images = torch::full({5, 1, 8, 8}, 200, torch::kUInt8);
  d.labels = torch::tensor({1, 7, 3, 0, 42}, torch::kInt64);
  const GridImage g = sample_grid(d, 64, 1); // count clamps to 5
  // 3 columns x 2 rows of cells.
  EXPECT_GT(g.width, 3 * 8);
  EXPECT_GT(g.height, 2 * 8);
  ASSERT_EQ(g.pixels.size(), static_cast<size_t>(g.width * g.height * 3));
  // The first tile's pixel is the image's grey in all three channels.
  const size_t at = static_cast<size_t>((4 * g.width + 4) * 3);
  EXPECT_EQ(g.pixels[at], 200);
  EXPECT_EQ(g.pixels[at + 2], 200);
  // Some white digit pixels exist (labels drawn).
  int64_t white = 0;
  for (size_t i = 0; i < g.pixels.size(); i += 3) {
    white += g.pixels[i] == 255;
  }
  EXPECT_GT(white, 5 * 4 * 5);
  // Digit "1" at scale 1 into a blank image: its known 3x5 shape.
  GridImage blank;
  blank.width = 3;
  blank.height = 5;
  blank.pixels.assign(45, 0);
  draw_digits(blank, "1", 0, 0, 1);
  std::string rows;
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 3; ++x) {
      rows += blank.pixels[(y * 3 + x) * 3] ? '#' : '.';
    }
    rows += '/';
  }
  EXPECT_EQ(rows, ".#./##./.#./.#./###/");
  EXPECT_SDN_ERROR(sample_grid(d, 0, 1), "--count");
  EXPECT_SDN_ERROR(draw_digits(blank, "1a", 0, 0, 1), "not a digit");
}
