// Prints the machine limits as JSON: read bandwidth and f32 FMA peak, for 1 thread and for
// --threads N (default: all CPUs). Usage: bench_machine [--threads N] [--read-mib M] [--reps R]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/machine_limits.h"
#include "engine/core/cpu_features.h"

int main(int argc, char** argv) {
  int threads = quire::default_thread_count();
  size_t read_mib = 1024;
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--threads") == 0) {
      threads = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--read-mib") == 0) {
      read_mib = static_cast<size_t>(std::atoll(argv[i + 1]));
    } else if (std::strcmp(argv[i], "--reps") == 0) {
      reps = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: %s [--threads N] [--read-mib M] [--reps R]\n", argv[0]);
      return 2;
    }
  }
  if (threads < 1 || read_mib < 1 || reps < 1) {
    std::fprintf(stderr, "bench_machine: --threads, --read-mib and --reps must be >= 1\n");
    return 2;
  }
  nlohmann::ordered_json out;
  out["benchmark"] = "machine_limits";
  out["cpu"] = quire::cpu_features().to_string();
  out["read_buffer_bytes"] = read_mib << 20;
  out["reps"] = reps;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (int t : {1, threads}) {
    quire::ThreadPool pool(t);
    auto m = quire::bench::measure_machine_limits(pool, read_mib << 20, reps);
    rows.push_back({{"threads", t},
                    {"read_gbps", m.read_gbps},
                    {"fma_gflops", m.fma_gflops},
                    {"simd", m.simd ? "avx2+fma" : "scalar"}});
    if (threads == 1) break;
  }
  out["results"] = rows;
  std::printf("%s\n", out.dump(1).c_str());
  return 0;
}
