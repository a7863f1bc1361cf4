// Kernel benchmark (JSON on stdout): for every weight type,
//   gemv 4096 x 11008 (one token): GB/s of weight bytes read, and the fraction of the read
//     bandwidth this program measures; the matrix is replicated past the last-level cache so
//     every rep streams from DRAM, as decoding a real model does;
//   gemm 512 tokens x 4096 x 11008: GFLOP/s of the quantized and the BLAS paths, and the
//     fraction of the FMA peak this program measures;
// and the tokens from which the BLAS path wins (the rule in engine/kernels/matmul.cpp).
// Usage: bench_kernels [--threads N] [--reps R] [--types Q4_K,Q8_0,...] [--no-gemm]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/machine_limits.h"
#include "engine/core/cpu_features.h"
#include "engine/core/timer.h"
#include "engine/kernels/matmul.h"
#include "engine/quant/quant_traits.h"

namespace {

using namespace quire;
using namespace quire::engine;

struct Matrix {
  std::vector<uint8_t> bytes;
  WeightMatrix w;
};

// n_out rows tiled from 64 distinct reference-quantized random rows (quantizing 45M weights
// with the K-quant searches would dominate the run; the kernels do not care).
Matrix make_matrix(GgmlType type, int64_t n_in, int64_t n_out, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const QuantTraits* t = quant_traits(type);
  const size_t row = ggml_row_size(type, static_cast<uint64_t>(n_in));
  const int64_t distinct = 64;
  std::vector<uint8_t> rows(row * distinct);
  std::vector<float> f(static_cast<size_t>(n_in));
  for (int64_t r = 0; r < distinct; ++r) {
    for (auto& v : f) v = normal(rng) * 0.02f;
    t->quantize(f.data(), rows.data() + r * row, n_in);
  }
  Matrix m;
  m.bytes.resize(row * static_cast<size_t>(n_out));
  for (int64_t r = 0; r < n_out; ++r) {
    std::memcpy(m.bytes.data() + r * row, rows.data() + (r % distinct) * row, row);
  }
  m.w = WeightMatrix{type, m.bytes.data(), n_in, n_out};
  return m;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<float> random_vector(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = normal(rng);
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 5;
  bool gemm = true;
  std::vector<GgmlType> types;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (a == "--no-gemm") {
      gemm = false;
    } else if (a == "--types" && i + 1 < argc) {
      std::string list = argv[++i];
      size_t start = 0;
      while (start <= list.size()) {
        size_t end = list.find(',', start);
        if (end == std::string::npos) end = list.size();
        auto t = ggml_type_from_name(list.substr(start, end - start));
        if (!t || !quant_traits(*t)) {
          std::fprintf(stderr, "bench_kernels: unknown type '%s'\n",
                       list.substr(start, end - start).c_str());
          return 2;
        }
        types.push_back(*t);
        start = end + 1;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--threads N] [--reps R] [--types A,B] [--no-gemm]\n",
                   argv[0]);
      return 2;
    }
  }
  if (threads < 1 || reps < 1) return 2;
  if (types.empty()) {
    for (const auto& t : quant_traits_table()) types.push_back(t.type);
  }

  ThreadPool pool(threads);
  // The read bandwidth is measured before and after the kernels and the larger kept: the shared
  // machine's bandwidth drifts, and the larger figure makes the reported fractions conservative.
  bench::MachineLimits limits = bench::measure_machine_limits(pool);
  nlohmann::ordered_json out;
  out["benchmark"] = "kernels";
  out["threads"] = threads;
  out["kernels"] = std::string(kernels().name());
  out["cpu"] = cpu_features().to_string();
  out["machine"] = {{"read_gbps_before", limits.read_gbps}, {"fma_gflops", limits.fma_gflops}};

  const int64_t n_in = 4096, n_out = 11008, n_tokens = 512;
  const std::vector<float> x = random_vector(static_cast<size_t>(n_in * n_tokens), 1);
  std::vector<float> y(static_cast<size_t>(n_out * n_tokens));
  MatmulScratch scratch;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (GgmlType type : types) {
    Matrix m = make_matrix(type, n_in, n_out, 7);
    const double bytes = static_cast<double>(m.bytes.size());
    // Copies so that the matrices together exceed any last-level cache (>= 512 MiB).
    const size_t copies = std::max<size_t>(2, static_cast<size_t>((512.0 * (1 << 20)) / bytes) + 1);
    std::vector<std::vector<uint8_t>> replicas(copies, m.bytes);
    std::vector<double> gemv_s;
    for (int r = 0; r < reps * 2 + 1; ++r) {
      WeightMatrix w = m.w;
      w.data = replicas[static_cast<size_t>(r) % copies].data();
      Timer t;
      matmul(w, x.data(), 1, y.data(), pool, scratch, MatmulPath::kQuantized);
      if (r > 0) gemv_s.push_back(t.elapsed_s());
    }
    replicas.clear();
    const double gemv_gbps = bytes / median(gemv_s) * 1e-9;
    nlohmann::ordered_json row = {{"type", std::string(ggml_type_name(type))},
                                  {"weight_bytes", m.bytes.size()},
                                  {"gemv_ms", median(gemv_s) * 1e3},
                                  {"gemv_gbps", gemv_gbps},
                                  {"gemv_fraction_of_bandwidth", gemv_gbps / limits.read_gbps}};
    if (gemm) {
      const double flops = 2.0 * n_in * n_out * n_tokens;
      for (MatmulPath path : {MatmulPath::kQuantized, MatmulPath::kBlas}) {
        std::vector<double> s;
        for (int r = 0; r < std::max(2, reps / 2) + 1; ++r) {
          Timer t;
          matmul(m.w, x.data(), n_tokens, y.data(), pool, scratch, path);
          if (r > 0) s.push_back(t.elapsed_s());
        }
        const double gflops = flops / median(s) * 1e-9;
        const std::string key = path == MatmulPath::kBlas ? "gemm_blas" : "gemm_quantized";
        row[key + "_gflops"] = gflops;
        row[key + "_fraction_of_fma_peak"] = gflops / limits.fma_gflops;
      }
      // Crossover on a 4096 x 4096 matrix: the fewest tokens from which BLAS beats the
      // quantized path at that count and every larger count tried.
      Matrix sq = make_matrix(type, 4096, 4096, 9);
      const std::vector<int64_t> counts = {2, 4, 8, 16, 32, 64, 128, 256, 512};
      std::vector<bool> blas_wins;
      nlohmann::ordered_json sweep = nlohmann::ordered_json::array();
      for (int64_t tokens : counts) {
        double best[2];
        int i = 0;
        for (MatmulPath path : {MatmulPath::kQuantized, MatmulPath::kBlas}) {
          std::vector<double> s;
          for (int r = 0; r < 6; ++r) {
            Timer t;
            matmul(sq.w, x.data(), tokens, y.data(), pool, scratch, path);
            if (r > 0) s.push_back(t.elapsed_s());
          }
          best[i++] = median(s);
        }
        blas_wins.push_back(best[1] < best[0]);
        sweep.push_back(
            {{"tokens", tokens}, {"quantized_ms", best[0] * 1e3}, {"blas_ms", best[1] * 1e3}});
      }
      int64_t crossover = -1;
      for (size_t i = counts.size(); i-- > 0;) {
        if (!blas_wins[i]) break;
        crossover = counts[i];
      }
      row["crossover_sweep_4096x4096"] = sweep;
      row["blas_wins_from_tokens"] = crossover;
      row["blas_min_tokens_rule"] = blas_min_tokens(type);
    }
    rows.push_back(row);
    std::fprintf(stderr, "%s done\n", std::string(ggml_type_name(type)).c_str());
  }
  const double read_after = bench::measure_read_bandwidth(pool, size_t{1} << 30, 5);
  out["machine"]["read_gbps_after"] = read_after;
  if (read_after > limits.read_gbps) {
    for (auto& r : rows) {
      r["gemv_fraction_of_bandwidth"] = r["gemv_gbps"].get<double>() / read_after;
    }
  }
  out["results"] = rows;
  std::printf("%s\n", out.dump(1).c_str());
  return 0;
}
