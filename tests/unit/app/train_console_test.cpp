// The training table: its header and rows as `sdn train` prints them, and
// the console callback writing them (progress bars off).
#include "sdn/app/train_console.h"

#include "sdn/util/error.h"
#include "sdn/util/files.h"
#include "temp_dir.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace sdn::app {
namespace {

train::EpochMetrics sdn_epoch() {
  train::EpochMetrics m;
  m.epoch = 3;
  m.lr = 0.01;
  m.loss = 1.23456;
  m.ic_weights = {0.1, 0.25};
  m.train_accuracy = {40, 50.25, 60};
  m.val_accuracy = {35, 45, 55.55};
  m.seconds = 12.34;
  m.images_per_second = 98.76;
  return m;
}

TEST(TrainTable, HeaderAndRowsAsBefore) {
  EXPECT_EQ(
      train_table_header(),
      "epoch        lr      loss  train acc % (exits)      val acc % (exits)"
      "            sec   img/s\n");
  EXPECT_EQ(
      train_table_row(sdn_epoch()),
      "    3  1.00e-02    1.2346  40.0 50.2 60.0           35.0 45.0 55.5"
      "              12.3    98.8  tau 0.100 0.250\n");
  auto cnn = sdn_epoch();
  cnn.ic_weights.clear();
  cnn.val_accuracy.clear();
  EXPECT_EQ(
      train_table_row(cnn),
      "    3  1.00e-02    1.2346  40.0 50.2 60.0                               "
      "        12.3    98.8\n");
}

TEST(TrainConsole, PrintsHeaderAndOneRowPerEpoch) {
  testing::TempDir tmp("train_console");
  const std::string path = tmp.str("table.txt");
  std::FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  TrainConsoleOptions options;
  options.progress = false;
  options.table_out = file;
  TrainConsole console(options);
  train::TrainStart start;
  console.on_start(start);
  train::PhaseProgress p;
  p.epoch = 3;
  p.epochs = 5;
  p.total = 10;
  console.on_phase_begin(p);
  p.done = 10;
  console.on_progress(p);
  console.on_phase_end(p);
  console.on_epoch_end(sdn_epoch());
  std::fclose(file);
  EXPECT_EQ(
      read_file(path), train_table_header() + train_table_row(sdn_epoch()));

  TrainConsoleOptions quiet;
  quiet.table = false;
  quiet.table_out = nullptr;
  EXPECT_NO_THROW(TrainConsole{quiet});
  quiet.table = true;
  EXPECT_THROW(TrainConsole{quiet}, sdn::Error);
}

} // namespace
} // namespace sdn::app
