#include "sdn/util/timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <regex>
#include <string>
#include <thread>

TEST(Timer, CountsUpAndResets) {
  sdn::Timer timer;
  const double first = timer.seconds();
  EXPECT_GE(first, 0.0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double later = timer.seconds();
  EXPECT_GE(later, 0.02);
  timer.reset();
  EXPECT_LT(timer.seconds(), later);
}

namespace {

std::string utc_day() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char day[16];
  std::strftime(day, sizeof day, "%Y-%m-%d", &utc);
  return day;
}

} // namespace

TEST(Timer, UtcDateIsTodayInUtc) {
  const std::string before = utc_day();
  const std::string date = sdn::utc_date();
  const std::string after = utc_day();
  EXPECT_TRUE(std::regex_match(
      date,
      std::regex(
          R"(20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9] UTC)")))
      << date;
  // The UTC calendar day, not the local one (either side of midnight).
  const std::string day = date.substr(0, 10);
  EXPECT_TRUE(day == before || day == after) << date;
}
