// CPU feature detection for choosing kernels at run time.
//
// A feature counts only when the CPU reports it (CPUID) *and* the OS saves the registers it needs
// (XGETBV: XMM and YMM state for AVX/AVX2/FMA/F16C, plus opmask/ZMM state for AVX-512).
// QUIRE_CPU=generic forces every SIMD feature off, so the scalar reference path runs everywhere.
#pragma once

#include <string>

namespace quire {

struct CpuFeatures {
  bool sse42 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx_vnni = false;
  bool forced_generic = false;  // QUIRE_CPU=generic was set

  // Everything the AVX2 kernels need: AVX2 + FMA + F16C with OS support.
  bool has_avx2_kernels() const { return avx2 && fma && f16c; }

  // "AVX2 FMA F16C" style list of what is usable, or "generic".
  std::string to_string() const;
};

// What the hardware and OS support, ignoring QUIRE_CPU.
CpuFeatures detect_cpu_features();

// The features the process uses: detect_cpu_features(), unless QUIRE_CPU=generic is set, which
// clears them all (and sets forced_generic). Computed once; thread-safe.
const CpuFeatures& cpu_features();

// Same rule as cpu_features() but re-reads QUIRE_CPU now (for tests).
CpuFeatures cpu_features_from_env();

}  // namespace quire
