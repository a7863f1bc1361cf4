#include "engine/core/log.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace quire {
namespace {

LogLevel level_from_env() {
  const char* env = std::getenv("QUIRE_LOG");
  if (env == nullptr || *env == '\0') return LogLevel::kInfo;
  if (auto level = parse_log_level(env)) return *level;
  std::fprintf(
      stderr, "quire: warn: QUIRE_LOG='%s' is not one of debug|info|warn|error; using info\n", env);
  return LogLevel::kInfo;
}

std::atomic<int>& level_storage() {
  static std::atomic<int> level{static_cast<int>(level_from_env())};
  return level;
}

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "?";
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  std::string lower;
  for (char c : text)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warn" || lower == "warning") return LogLevel::kWarn;
  if (lower == "error") return LogLevel::kError;
  return std::nullopt;
}

LogLevel log_level() {
  return static_cast<LogLevel>(level_storage().load(std::memory_order_relaxed));
}

void set_log_level(LogLevel level) {
  level_storage().store(static_cast<int>(level), std::memory_order_relaxed);
}

void log_message(LogLevel level, const char* format, ...) {
  std::string line = "quire: ";
  line += level_name(level);
  line += ": ";
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  if (n > 0) {
    size_t prefix = line.size();
    line.resize(prefix + static_cast<size_t>(n) + 1);
    std::vsnprintf(line.data() + prefix, static_cast<size_t>(n) + 1, format, args);
    line.resize(prefix + static_cast<size_t>(n));
  }
  va_end(args);
  line.push_back('\n');
  // One write(2) per line keeps concurrent lines whole.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t w = ::write(STDERR_FILENO, p, left);
    if (w <= 0) break;
    p += w;
    left -= static_cast<size_t>(w);
  }
}

}  // namespace quire
