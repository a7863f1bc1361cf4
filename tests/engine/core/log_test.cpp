#include "engine/core/log.h"

#include <gtest/gtest.h>

namespace quire {
namespace {

TEST(LogTest, ParsesLevels) {
  EXPECT_EQ(parse_log_level("debug"), LogLevel::kDebug);
  EXPECT_EQ(parse_log_level("INFO"), LogLevel::kInfo);
  EXPECT_EQ(parse_log_level("warn"), LogLevel::kWarn);
  EXPECT_EQ(parse_log_level("warning"), LogLevel::kWarn);
  EXPECT_EQ(parse_log_level("Error"), LogLevel::kError);
  EXPECT_EQ(parse_log_level("verbose"), std::nullopt);
  EXPECT_EQ(parse_log_level(""), std::nullopt);
}

TEST(LogTest, ThresholdFiltersMessages) {
  LogLevel saved = log_level();
  set_log_level(LogLevel::kWarn);
  EXPECT_FALSE(log_enabled(LogLevel::kDebug));
  EXPECT_FALSE(log_enabled(LogLevel::kInfo));
  EXPECT_TRUE(log_enabled(LogLevel::kWarn));
  EXPECT_TRUE(log_enabled(LogLevel::kError));

  testing::internal::CaptureStderr();
  QUIRE_LOG_INFO("hidden %d", 1);
  QUIRE_LOG_WARN("shown %d of %s", 2, "two");
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "quire: warn: shown 2 of two\n");
  set_log_level(saved);
}

}  // namespace
}  // namespace quire
