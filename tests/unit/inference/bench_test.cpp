// The timings themselves are benchmarks (`sdn bench exit`), not tests; these
// are the options and the printers.
#include "sdn/inference/bench.h"

#include "sdn/util/error.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

TEST(BenchExit, OptionsNameTheBadParameter) {
  sdn::inference::ExitBenchOptions options;
  EXPECT_NO_THROW(options.validate());
  options.batch_sizes = {32, 0};
  EXPECT_THROW(options.validate(), sdn::Error);
  options.batch_sizes = {1};
  options.threshold = 1.5;
  try {
    options.validate();
    FAIL() << "no throw";
  } catch (const sdn::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--threshold"), std::string::npos);
  }
}

TEST(BenchExit, JsonAndTablesCarryEveryRow) {
  std::vector<sdn::inference::ExitBenchRow> rows(2);
  rows[0] = {"cnn", "optimised", 32, 100, 1.0, 1.0, 0, {99, 100, 101}};
  rows[1] = {"early-exit", "optimised", 32, 180, 0.55, 0.5, 0, {180}};
  const auto j = sdn::inference::bench_exit_json(rows);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1].at("variant"), "early-exit");
  EXPECT_DOUBLE_EQ(j[1].at("relative_time").get<double>(), 0.55);
  EXPECT_EQ(j[0].at("runs"), nlohmann::json({99.0, 100.0, 101.0}));
  std::ostringstream table;
  sdn::inference::print_bench_exit(
      table, rows, sdn::inference::ExitBenchOptions{}, "resnet56", 2);
  EXPECT_NE(table.str().find("early-exit"), std::string::npos) << table.str();
  EXPECT_NE(table.str().find("resnet56"), std::string::npos) << table.str();

  const std::vector<sdn::inference::StageRow> stages = {
      {0, 0.001, 0.2, 0.15}, {1, 0.004, 1.05, 1.02}};
  const auto s = sdn::inference::stages_json(stages);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].at("exit"), 1);
  EXPECT_DOUBLE_EQ(s[0].at("cumulative_cost").get<double>(), 0.15);
  std::ostringstream st;
  sdn::inference::print_stages(
      st, stages, sdn::inference::ExitBenchOptions{}, /*batch_size=*/16);
  EXPECT_NE(st.str().find("16"), std::string::npos) << st.str();
}
