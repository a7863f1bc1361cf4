#include "bench/machine_limits.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/core/cpu_features.h"
#include "engine/core/timer.h"

namespace quire::bench {

float read_sum_avx2(const float* p, size_t n);
float fma_chains_avx2(int64_t iters);

namespace {

float read_sum_scalar(const float* p, size_t n) {
  float a[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) a[k] += p[i + k];
  }
  float total = 0;
  for (float x : a) total += x;
  for (; i < n; ++i) total += p[i];
  return total;
}

float fma_chains_scalar(int64_t iters) {
  float x[10];
  for (int k = 0; k < 10; ++k) x[k] = 1.0f + 0.1f * static_cast<float>(k);
  for (int64_t i = 0; i < iters; ++i) {
    for (float& v : x) v = v * 0.999999f + 1e-7f;
  }
  float s = 0;
  for (float v : x) s += v;
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

volatile float g_sink = 0;  // keeps results alive so the loops are not optimized away

}  // namespace

double measure_read_bandwidth(ThreadPool& pool, size_t bytes, int reps) {
  const size_t n = bytes / sizeof(float);
  std::unique_ptr<float, decltype(&std::free)> buffer(
      static_cast<float*>(std::aligned_alloc(64, n * sizeof(float))), &std::free);
  float* data = buffer.get();
  // First touch from the threads that will read, and non-zero contents.
  pool.parallel_for(n, [&](size_t b, size_t e, int) {
    for (size_t i = b; i < e; ++i) data[i] = 1.0f;
  });
  const bool simd = cpu_features().has_avx2_kernels();
  const size_t parts = static_cast<size_t>(pool.size());
  const size_t chunk = (n / parts + 7) / 8 * 8;  // 32-byte aligned chunk starts
  std::vector<float> partial(parts);
  std::vector<double> gbps;
  for (int r = 0; r < reps + 1; ++r) {
    Timer t;
    pool.parallel_for(parts, 1, [&](size_t b, size_t, int) {
      const size_t begin = b * chunk;
      const size_t end = std::min(n, begin + chunk);
      if (begin >= end) return;
      partial[b] = simd ? read_sum_avx2(data + begin, end - begin)
                        : read_sum_scalar(data + begin, end - begin);
    });
    const double s = t.elapsed_s();
    for (float x : partial) g_sink = g_sink + x;
    if (r > 0) gbps.push_back(static_cast<double>(n * sizeof(float)) / s * 1e-9);  // r 0 warms up
  }
  return median(gbps);
}

double measure_fma_peak(ThreadPool& pool, int reps) {
  const bool simd = cpu_features().has_avx2_kernels();
  const int64_t iters = simd ? 20'000'000 : 5'000'000;
  const double flops_per_thread = static_cast<double>(iters) * 10 * (simd ? 8 : 1) * 2;
  const size_t parts = static_cast<size_t>(pool.size());
  std::vector<float> partial(parts);
  std::vector<double> gflops;
  for (int r = 0; r < reps + 1; ++r) {
    Timer t;
    pool.parallel_for(parts, 1, [&](size_t b, size_t, int) {
      partial[b] = simd ? fma_chains_avx2(iters) : fma_chains_scalar(iters);
    });
    const double s = t.elapsed_s();
    for (float x : partial) g_sink = g_sink + x;
    if (r > 0) gflops.push_back(flops_per_thread * static_cast<double>(parts) / s * 1e-9);
  }
  return median(gflops);
}

MachineLimits measure_machine_limits(ThreadPool& pool, size_t read_bytes, int reps) {
  MachineLimits m;
  m.threads = pool.size();
  m.simd = cpu_features().has_avx2_kernels();
  m.read_gbps = measure_read_bandwidth(pool, read_bytes, reps);
  m.fma_gflops = measure_fma_peak(pool, reps);
  return m;
}

}  // namespace quire::bench
