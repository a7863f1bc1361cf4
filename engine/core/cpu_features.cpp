#include "engine/core/cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/core/log.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define QUIRE_X86 1
#endif

namespace quire {
namespace {

#if QUIRE_X86
// XGETBV(0): which register states the OS saves on context switch. Only valid when CPUID reports
// OSXSAVE; written as inline asm so this file needs no -mxsave.
uint64_t read_xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}
#endif

}  // namespace

std::string CpuFeatures::to_string() const {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(sse42, "SSE4.2");
  add(avx, "AVX");
  add(avx2, "AVX2");
  add(fma, "FMA");
  add(f16c, "F16C");
  add(avx_vnni, "AVX-VNNI");
  add(avx512f, "AVX512F");
  add(avx512bw, "AVX512BW");
  add(avx512vl, "AVX512VL");
  if (out.empty()) out = "generic";
  return out;
}

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if QUIRE_X86
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0, &eax, &ebx, &ecx, &edx) == 0) return f;
  const unsigned max_leaf = eax;
  __get_cpuid(1, &eax, &ebx, &ecx, &edx);
  const bool osxsave = (ecx & bit_OSXSAVE) != 0;
  f.sse42 = (ecx & bit_SSE4_2) != 0;
  const bool cpu_avx = (ecx & bit_AVX) != 0;
  const bool cpu_fma = (ecx & bit_FMA) != 0;
  const bool cpu_f16c = (ecx & bit_F16C) != 0;

  bool os_ymm = false, os_zmm = false;
  if (osxsave) {
    const uint64_t xcr0 = read_xcr0();
    os_ymm = (xcr0 & 0x6) == 0x6;    // XMM (bit 1) and YMM (bit 2) state
    os_zmm = (xcr0 & 0xE6) == 0xE6;  // + opmask, ZMM_Hi256, Hi16_ZMM (bits 5..7)
  }
  f.avx = cpu_avx && os_ymm;
  f.fma = cpu_fma && os_ymm;
  f.f16c = cpu_f16c && os_ymm;
  if (max_leaf >= 7) {
    unsigned a7 = 0, b7 = 0, c7 = 0, d7 = 0;
    __get_cpuid_count(7, 0, &a7, &b7, &c7, &d7);
    f.avx2 = (b7 & bit_AVX2) != 0 && os_ymm;
    f.avx512f = (b7 & bit_AVX512F) != 0 && os_zmm;
    f.avx512bw = (b7 & bit_AVX512BW) != 0 && os_zmm;
    f.avx512vl = (b7 & bit_AVX512VL) != 0 && os_zmm;
    unsigned a71 = 0, b71 = 0, c71 = 0, d71 = 0;
    __get_cpuid_count(7, 1, &a71, &b71, &c71, &d71);
    f.avx_vnni = (a71 & (1u << 4)) != 0 && os_ymm;
  }
#endif
  return f;
}

CpuFeatures cpu_features_from_env() {
  const char* env = std::getenv("QUIRE_CPU");
  std::string_view value = env != nullptr ? env : "";
  if (value == "generic") {
    CpuFeatures generic;
    generic.forced_generic = true;
    return generic;
  }
  if (!value.empty() && value != "native") {
    QUIRE_LOG_WARN("QUIRE_CPU='%s' is not 'generic' or 'native'; using native", env);
  }
  return detect_cpu_features();
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = cpu_features_from_env();
  return features;
}

}  // namespace quire
