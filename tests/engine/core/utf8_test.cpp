#include "engine/core/utf8.h"

#include <gtest/gtest.h>

namespace quire {
namespace {

TEST(Utf8Test, EncodesEachLength) {
  std::string s;
  append_utf8(s, U'A');
  append_utf8(s, 0xE9);     // é, 2 bytes
  append_utf8(s, 0x20AC);   // €, 3 bytes
  append_utf8(s, 0x1F600);  // 😀, 4 bytes
  EXPECT_EQ(s, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  std::string edges;
  append_utf8(edges, 0x7F);
  append_utf8(edges, 0x80);
  append_utf8(edges, 0x7FF);
  append_utf8(edges, 0x800);
  append_utf8(edges, 0xFFFF);
  append_utf8(edges, 0x10000);
  append_utf8(edges, 0x10FFFF);
  EXPECT_EQ(edges, "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
}

}  // namespace
}  // namespace quire
