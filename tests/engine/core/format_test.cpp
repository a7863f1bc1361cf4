#include "engine/core/format.h"

#include <gtest/gtest.h>

namespace quire {
namespace {

TEST(FormatTest, HumanUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(3ull << 30), "3.00 GiB");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(7340032), "7.34M");
  EXPECT_EQ(format_count(494032768), "494.03M");
  EXPECT_EQ(format_grouped(uint64_t{7340032}), "7,340,032");
  EXPECT_EQ(format_grouped(uint64_t{100}), "100");
}

TEST(FormatTest, GroupedSignedValues) {
  EXPECT_EQ(format_grouped(int64_t{0}), "0");
  EXPECT_EQ(format_grouped(int64_t{-1204}), "-1,204");
  EXPECT_EQ(format_grouped(int64_t{999}), "999");
  EXPECT_EQ(format_grouped(INT64_MIN), "-9,223,372,036,854,775,808");
}

}  // namespace
}  // namespace quire
