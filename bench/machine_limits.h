// The limits of the machine, measured by the same program that measures quire, so kernel numbers
// can be quoted as a fraction of what the hardware did in the same run.
#pragma once

#include <cstddef>

#include "engine/core/thread_pool.h"

namespace quire::bench {

struct MachineLimits {
  int threads = 1;
  double read_gbps = 0;   // streaming read of a large buffer, all threads (GB/s, 1e9 bytes)
  double fma_gflops = 0;  // f32 FMA peak, all threads (GFLOP/s; one FMA = 2 flops)
  bool simd = false;      // measured with AVX2+FMA (else scalar)
};

// Median GB/s of `reps` streaming reads over a `bytes` buffer split across the pool.
double measure_read_bandwidth(ThreadPool& pool, size_t bytes, int reps);

// Median GFLOP/s of `reps` runs of 10 independent 8-wide FMA chains per thread.
double measure_fma_peak(ThreadPool& pool, int reps);

MachineLimits measure_machine_limits(ThreadPool& pool, size_t read_bytes = size_t{1} << 30,
                                     int reps = 5);

}  // namespace quire::bench
