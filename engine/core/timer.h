// Monotonic time for timings and benchmarks (std::chrono::steady_clock).
#pragma once

#include <chrono>
#include <cstdint>

namespace quire {

// Nanoseconds on the monotonic clock since an unspecified epoch.
inline int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Measures elapsed wall time from construction or the last reset().
class Timer {
 public:
  Timer() : start_ns_(monotonic_ns()) {}
  void reset() { start_ns_ = monotonic_ns(); }
  int64_t elapsed_ns() const { return monotonic_ns() - start_ns_; }
  double elapsed_s() const { return static_cast<double>(elapsed_ns()) * 1e-9; }
  double elapsed_ms() const { return static_cast<double>(elapsed_ns()) * 1e-6; }

 private:
  int64_t start_ns_;
};

}  // namespace quire
