// Stop strings while streaming: split stops, overlapping prefixes, released prefixes, several
// stops, and an exhaustive check that every way of cutting a text into pieces gives the same
// output as cutting the whole text at its first stop.
#include "engine/sampling/stop.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace quire::engine {
namespace {

struct Streamed {
  std::string shown;  // everything emitted, flush included when not stopped
  bool stopped = false;
  std::vector<std::string> emits;
};

Streamed stream(const std::vector<std::string>& stops, const std::vector<std::string>& pieces) {
  StopMatcher m(stops);
  Streamed out;
  for (const auto& p : pieces) {
    StopMatcher::Result r = m.push(p);
    out.shown += r.emit;
    out.emits.push_back(r.emit);
    if (r.stopped) {
      out.stopped = true;
      break;
    }
  }
  out.shown += m.flush();
  return out;
}

// What the streamed output must equal: the text up to the earliest complete stop string.
Streamed reference(const std::vector<std::string>& stops, const std::string& text) {
  size_t first = std::string::npos;
  for (const auto& s : stops) {
    if (!s.empty()) first = std::min(first, text.find(s));
  }
  Streamed out;
  out.stopped = first != std::string::npos;
  out.shown = out.stopped ? text.substr(0, first) : text;
  return out;
}

TEST(StopMatcher, EmptyStopListPassesEverythingAtOnce) {
  StopMatcher m({});
  for (const char* piece : {"Hello", ", ", "", "world", "\n"}) {
    StopMatcher::Result r = m.push(piece);
    EXPECT_EQ(r.emit, piece);
    EXPECT_FALSE(r.stopped);
    EXPECT_EQ(m.held_bytes(), 0u);
  }
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, EmptyStopStringsAreIgnored) {
  Streamed s = stream({"", "END"}, {"a", "b"});
  EXPECT_EQ(s.emits, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(s.stopped);
}

TEST(StopMatcher, StopInsideOnePiece) {
  StopMatcher m({"###"});
  StopMatcher::Result r = m.push("answer### ignored");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "answer");
  EXPECT_EQ(m.matched_stop(), "###");
  EXPECT_TRUE(m.stopped());
  // Everything after is swallowed.
  r = m.push("more");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, StopSplitAcrossPieces) {
  StopMatcher m({"<|im_end|>"});
  StopMatcher::Result r = m.push("Hi there<|im");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.emit, "Hi there");  // "<|im" held back
  EXPECT_EQ(m.held_bytes(), 4u);
  r = m.push("_en");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.emit, "");
  r = m.push("d|>tail");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "");
  EXPECT_EQ(m.matched_stop(), "<|im_end|>");
}

TEST(StopMatcher, HeldPrefixThatIsNotAStopIsReleased) {
  StopMatcher m({"</s>"});
  StopMatcher::Result r = m.push("x </");
  EXPECT_EQ(r.emit, "x ");
  EXPECT_FALSE(r.stopped);
  r = m.push("div>");
  EXPECT_EQ(r.emit, "</div>");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(m.held_bytes(), 0u);
}

TEST(StopMatcher, ReleasedPrefixKeepsALaterPossibleStart) {
  // "aab" with stop "ab" split as "a" | "a" | "b": the first 'a' is released when the second
  // arrives, the second is held until 'b' completes the stop.
  StopMatcher m({"ab"});
  EXPECT_EQ(m.push("a").emit, "");
  EXPECT_EQ(m.push("a").emit, "a");
  StopMatcher::Result r = m.push("b");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "");
}

TEST(StopMatcher, FlushReturnsTheHeldTail) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.push("the end ST").emit, "the end ");
  EXPECT_EQ(m.flush(), "ST");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, OverlappingPrefixesStopAtTheShorterOne) {
  // "ab" is complete before "abc" could be: stop there.
  Streamed s = stream({"abc", "ab"}, {"x", "a", "b", "c"});
  EXPECT_TRUE(s.stopped);
  EXPECT_EQ(s.shown, "x");
  EXPECT_EQ(s.emits, (std::vector<std::string>{"x", "", ""}));
}

TEST(StopMatcher, LongerStopHeldWhileShorterIsImpossible) {
  StopMatcher m({"abc", "xy"});
  EXPECT_EQ(m.push("ab").emit, "");  // could become "abc"
  StopMatcher::Result r = m.push("d");
  EXPECT_EQ(r.emit, "abd");
  EXPECT_FALSE(r.stopped);
}

TEST(StopMatcher, EarliestOccurrenceWins) {
  StopMatcher m({"world", "lo"});
  StopMatcher::Result r = m.push("hello world");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "hel");
  EXPECT_EQ(m.matched_stop(), "lo");
}

TEST(StopMatcher, SelfOverlappingStop) {
  // Stop "aab": after "aaa" the tail "aa" may still start it; "b" completes it.
  StopMatcher m({"aab"});
  EXPECT_EQ(m.push("aaa").emit, "a");
  StopMatcher::Result r = m.push("b");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "");
}

TEST(StopMatcher, MultiByteUtf8Stop) {
  StopMatcher m(
      {"\xE2\x80\x94"
       "END"});  // "—END"
  EXPECT_EQ(m.push("done \xE2\x80").emit, "done ");
  StopMatcher::Result r = m.push(
      "\x94"
      "EN");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.emit, "");
  r = m.push("D");
  EXPECT_TRUE(r.stopped);
}

TEST(StopMatcher, EveryCutOfATextMatchesTheWholeTextReference) {
  const std::vector<std::vector<std::string>> stop_sets = {
      {}, {"ab"}, {"abc", "ab"}, {"bca", "cab"}, {"aab", "b"}, {"cc", "abcabd"}, {"abcabd"}};
  const std::vector<std::string> texts = {"abcabcabd", "aabaab", "xxabx", "cabcab", "ccc", "a", ""};
  int checked = 0;
  for (const auto& stops : stop_sets) {
    for (const auto& text : texts) {
      const Streamed expected = reference(stops, text);
      // Every way to cut the text into pieces (2^(n-1) cut sets), plus an empty piece in front.
      const size_t n = text.size();
      const uint32_t cuts = n == 0 ? 1 : 1u << (n - 1);
      for (uint32_t mask = 0; mask < cuts; ++mask) {
        std::vector<std::string> pieces = {""};
        std::string current;
        for (size_t i = 0; i < n; ++i) {
          current += text[i];
          if (i + 1 < n && (mask >> i & 1u) != 0) {
            pieces.push_back(current);
            current.clear();
          }
        }
        pieces.push_back(current);
        const Streamed got = stream(stops, pieces);
        ASSERT_EQ(got.shown, expected.shown) << "text '" << text << "' mask " << mask;
        ASSERT_EQ(got.stopped, expected.stopped) << "text '" << text << "' mask " << mask;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

}  // namespace
}  // namespace quire::engine
