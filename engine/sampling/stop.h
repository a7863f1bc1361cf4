// Stop strings: cutting generated text at the first occurrence of any of them, while streaming.
//
// Text arrives piece by piece (one detokenized token at a time). A StopMatcher returns at each
// step the text that is safe to show: it holds back the longest tail that could still grow into
// a stop string, releases it as soon as it cannot, and when a stop string is complete reports
// stopped with the text before it; the stop string and anything after it are never emitted.
// With several stop strings the earliest complete occurrence wins ("ab" stops "xabc" before
// "abc" could). Matching is on bytes. Not thread-safe; one per sequence.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace quire::engine {

class StopMatcher {
 public:
  // Empty strings are ignored (they would stop before the first byte).
  explicit StopMatcher(std::vector<std::string> stops);

  struct Result {
    std::string emit;  // text to show now
    bool stopped = false;
  };

  // Feeds the next piece. After a stop every call returns {"", true}.
  Result push(std::string_view text);

  // End of generation without a stop: returns the held-back text (empty after a stop).
  std::string flush();

  bool stopped() const { return stopped_; }
  // The stop string that matched; empty when none has.
  const std::string& matched_stop() const { return matched_; }
  // Bytes currently held back.
  size_t held_bytes() const { return held_.size(); }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  std::string matched_;
  bool stopped_ = false;
};

}  // namespace quire::engine
