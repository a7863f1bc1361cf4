// Leveled logging to stderr.
//
// The threshold comes from QUIRE_LOG=debug|info|warn|error (default info), read once at first use;
// set_log_level() overrides it (e.g. from a --verbose flag). Each message is written with one
// write call, so lines from different threads do not interleave. Thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace quire {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug", "info", "warn"/"warning", "error" (case-insensitive).
std::optional<LogLevel> parse_log_level(std::string_view text);

LogLevel log_level();
void set_log_level(LogLevel level);
inline bool log_enabled(LogLevel level) {
  return level >= log_level();
}

// printf-style; prefixes "quire: <level>: " and appends a newline.
void log_message(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace quire

#define QUIRE_LOG_(level, ...)                                                 \
  do {                                                                         \
    if (::quire::log_enabled(level)) ::quire::log_message(level, __VA_ARGS__); \
  } while (0)
#define QUIRE_LOG_DEBUG(...) QUIRE_LOG_(::quire::LogLevel::kDebug, __VA_ARGS__)
#define QUIRE_LOG_INFO(...) QUIRE_LOG_(::quire::LogLevel::kInfo, __VA_ARGS__)
#define QUIRE_LOG_WARN(...) QUIRE_LOG_(::quire::LogLevel::kWarn, __VA_ARGS__)
#define QUIRE_LOG_ERROR(...) QUIRE_LOG_(::quire::LogLevel::kError, __VA_ARGS__)
