#include "engine/sampling/stop.h"

#include <algorithm>
#include <utility>

namespace quire::engine {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

StopMatcher::Result StopMatcher::push(std::string_view text) {
  if (stopped_) return {"", true};
  held_.append(text);

  // The held tail never contains a whole stop string (it was checked when it arrived), so the
  // earliest occurrence in held_ + text is the earliest in the whole output.
  size_t first = std::string::npos;
  for (const auto& s : stops_) {
    const size_t at = held_.find(s);
    if (at < first) {
      first = at;
      matched_ = s;
    }
  }
  if (first != std::string::npos) {
    stopped_ = true;
    Result r{held_.substr(0, first), true};
    held_.clear();
    return r;
  }

  // Hold back the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& s : stops_) {
    const size_t longest = std::min(s.size() - 1, held_.size());
    for (size_t len = longest; len > hold; --len) {
      if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
    }
  }
  Result r{held_.substr(0, held_.size() - hold), false};
  held_.erase(0, held_.size() - hold);
  return r;
}

std::string StopMatcher::flush() {
  return std::exchange(held_, std::string());
}

}  // namespace quire::engine
