#include "sdn/report/report_types.h"

#include "sdn/report/report.h"
#include "sdn/util/error.h"

#include "../analysis/trace_fixtures.h"
#include "report_test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace {

using nlohmann::json;
using namespace sdn::report;
using sdn::report::testing::fixture_json;

// The message of the sdn::Error report_from_json throws ("" if none).
std::string read_error(const json& j) {
  try {
    report_from_json(j, "r.json");
  } catch (const sdn::Error& e) {
    return e.what();
  }
  return "";
}

// Every key of every object in `value` as (JSON pointer, dotted path), at
// any depth; free-form trace metadata ("meta") is not descended into.
void collect_keys(
    const json& value,
    const std::string& pointer,
    const std::string& dotted,
    std::vector<std::pair<std::string, std::string>>& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      const std::string p = pointer + "/" + key;
      const std::string d = dotted.empty() ? key : dotted + "." + key;
      out.push_back({p, d});
      if (key != "meta") {
        collect_keys(child, p, d, out);
      }
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      collect_keys(
          value[i],
          pointer + "/" + std::to_string(i),
          dotted + "[" + std::to_string(i) + "]",
          out);
    }
  }
}

// A report with every section: trace A with a CNN, train and trigger trace.
json full_report() {
  namespace fixtures = sdn::analysis::fixtures;
  ReportInputs in;
  in.trace = fixtures::trace_a();
  in.cnn = fixtures::make_trace(
      {{{0.8F, 0.1F, 0.1F}},
       {{0.1F, 0.8F, 0.1F}},
       {{0.1F, 0.1F, 0.8F}},
       {{0.6F, 0.3F, 0.1F}}},
      {0, 1, 2, 1},
      {1.0});
  in.train = fixtures::trace_a();
  in.trigger = fixtures::trace_a();
  ReportOptions o;
  o.trace_dir = "A";
  o.select_on = Selection::kTest;
  o.target = 1;
  Report report = build_report(in, o);
  report.title = "A";
  return report;
}

TEST(ReportJson, FixtureRoundTrips) {
  const json original = fixture_json();
  const Report report = report_from_json(original, "fixture");
  const json again = report;
  EXPECT_EQ(again, original);
  EXPECT_EQ(again.dump(2), original.dump(2));
}

TEST(ReportJson, BuiltReportRoundTrips) {
  const json original = full_report();
  ASSERT_TRUE(original.contains("backdoor"));
  ASSERT_TRUE(original.contains("title"));
  const json again = report_from_json(original, "built");
  EXPECT_EQ(again.dump(2), original.dump(2));
  // A one-exit report: null sections and no backdoor.
  ReportInputs in;
  in.trace = sdn::analysis::fixtures::make_trace(
      {{{0.9F, 0.1F}}, {{0.2F, 0.8F}}}, {0, 1}, {1.0});
  ReportOptions o;
  o.trace_dir = "cnn";
  const json cnn = build_report(in, o);
  EXPECT_TRUE(cnn.at("sweep").is_null());
  EXPECT_FALSE(cnn.contains("backdoor"));
  EXPECT_FALSE(cnn.contains("title"));
  EXPECT_EQ(json(report_from_json(cnn, "cnn")).dump(2), cnn.dump(2));
}

TEST(ReportJson, EveryMissingKeyIsAnErrorNamingIt) {
  int policies = 0;
  for (const json& original : {fixture_json(), full_report()}) {
    std::vector<std::pair<std::string, std::string>> keys;
    collect_keys(original, "", "", keys);
    ASSERT_GT(keys.size(), 100u);
    int optional_keys = 0;
    for (const auto& [pointer, dotted] : keys) {
      json changed = original;
      const json::json_pointer p(pointer);
      changed[p.parent_pointer()].erase(p.back());
      const std::string message = read_error(changed);
      if (pointer == "/title" || pointer == "/backdoor") {
        // Left out when empty, so never required.
        EXPECT_EQ(message, "") << pointer;
        ++optional_keys;
        continue;
      }
      if (pointer.rfind("/policies/", 0) == 0 &&
          pointer.find('/', 10) == std::string::npos) {
        // Which policies a report compares is the user's choice
        // (--policies): one fewer is still a report.
        EXPECT_EQ(message, "") << pointer;
        ++policies;
        continue;
      }
      EXPECT_EQ(message, "r.json: missing key '" + dotted + "'") << pointer;
    }
    EXPECT_EQ(optional_keys, 2);
  }
  // The fixture compares max-prob; the built report every policy.
  EXPECT_EQ(policies, 1 + 5);
}

TEST(ReportJson, WrongTypesNameTheKeyExpectedAndFound) {
  json j = fixture_json();
  j["sweep"][3]["cost"] = "cheap";
  EXPECT_EQ(
      read_error(j),
      "r.json: key 'sweep[3].cost': expected number, found string");
  j = fixture_json();
  j["overthinking"]["destructive"]["wrong_final"] = 1.5;
  EXPECT_EQ(
      read_error(j),
      "r.json: key 'overthinking.destructive.wrong_final': expected integer, "
      "found number");
  j = fixture_json();
  j["budgets"]["0.5"] = json::array();
  EXPECT_EQ(
      read_error(j), "r.json: key 'budgets.0.5': expected object, found array");
  // Null where a figure may be undefined reads as empty.
  j = fixture_json();
  j["confusion"]["auroc"] = nullptr;
  j["budgets"]["max"] = nullptr;
  const Report report = report_from_json(j, "r.json");
  EXPECT_FALSE(report.confusion->auroc.has_value());
  EXPECT_FALSE(report.budgets->max.has_value());
  EXPECT_EQ(json(report), j);
  EXPECT_EQ(
      read_error(json::array()),
      "r.json: the report: expected object, found array");
}

TEST(ReportJson, BudgetColumnsAreThePapersInOrder) {
  const auto& columns = budget_table_columns();
  ASSERT_EQ(columns.size(), 4u);
  EXPECT_STREQ(columns[0].key, "0.25");
  EXPECT_EQ(columns[1].fraction, 0.5);
  EXPECT_FALSE(columns[3].fraction.has_value());
  Budgets b;
  b.*columns[2].entry = BudgetEntry{};
  EXPECT_TRUE(b.three_quarters.has_value());
}

} // namespace
