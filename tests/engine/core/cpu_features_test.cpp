#include "engine/core/cpu_features.h"

#include <cstdlib>

#include <gtest/gtest.h>

namespace quire {
namespace {

// Restores QUIRE_CPU when a test ends.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_old_ = old != nullptr;
    if (had_old_) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_old_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  bool had_old_ = false;
  std::string old_;
};

TEST(CpuFeaturesTest, GenericReportsNoSimd) {
  ScopedEnv env("QUIRE_CPU", "generic");
  CpuFeatures f = cpu_features_from_env();
  EXPECT_TRUE(f.forced_generic);
  EXPECT_FALSE(f.avx2);
  EXPECT_FALSE(f.fma);
  EXPECT_FALSE(f.f16c);
  EXPECT_FALSE(f.avx512f);
  EXPECT_FALSE(f.has_avx2_kernels());
  EXPECT_EQ(f.to_string(), "generic");
}

TEST(CpuFeaturesTest, NativeMatchesDetection) {
  ScopedEnv env("QUIRE_CPU", nullptr);
  CpuFeatures f = cpu_features_from_env();
  CpuFeatures d = detect_cpu_features();
  EXPECT_FALSE(f.forced_generic);
  EXPECT_EQ(f.avx2, d.avx2);
  EXPECT_EQ(f.fma, d.fma);
  EXPECT_EQ(f.f16c, d.f16c);
}

TEST(CpuFeaturesTest, ImpliedFeaturesAreConsistent) {
  CpuFeatures d = detect_cpu_features();
  // AVX2, FMA and F16C need the OS to save YMM state, which AVX also needs.
  if (d.avx2 || d.fma || d.f16c) {
    EXPECT_TRUE(d.avx);
  }
  if (d.avx512bw || d.avx512vl) {
    EXPECT_TRUE(d.avx512f);
  }
  if (d.avx512f) {
    EXPECT_TRUE(d.avx2);
  }
#if defined(__AVX2__)
  // This test binary was compiled for AVX2 and runs, so the CPU has it.
  EXPECT_TRUE(d.avx2);
#endif
  std::string s = d.to_string();
  EXPECT_FALSE(s.empty());
  if (d.avx2) {
    EXPECT_NE(s.find("AVX2"), std::string::npos);
  }
}

TEST(CpuFeaturesTest, SimdActuallyExecutesWhenReported) {
  CpuFeatures d = detect_cpu_features();
  if (!d.has_avx2_kernels()) GTEST_SKIP() << "no AVX2+FMA+F16C on this machine: " << d.to_string();
  // If detection were wrong this would die with SIGILL.
  float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  float out[8];
  __asm__ volatile(
      "vmovups (%1), %%ymm0\n\t"
      "vfmadd213ps %%ymm0, %%ymm0, %%ymm0\n\t"
      "vmovups %%ymm0, (%0)\n\t"
      "vzeroupper\n\t"
      :
      : "r"(out), "r"(a)
      : "xmm0", "memory");
  EXPECT_FLOAT_EQ(out[2], 3.0f * 3.0f + 3.0f);
}

}  // namespace
}  // namespace quire
