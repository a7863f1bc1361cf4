// Tests of the float types (F32, F16, BF16) and the 32-weight block types (Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0; Q8_0/Q8_1 activations):
//  - fp16/bf16 conversions: exhaustive over the 65536 16-bit patterns, and against the F16C
//    instructions (the hardware is the oracle the header promises to match);
//  - conformance with llama.cpp (quant-ref.gguf): dequantization bit for bit, weight
//    quantization byte for byte, and the resulting RMSE equal to llama.cpp's statistics;
//  - quantizer properties on random and edge data (all-zero, one huge outlier, negative-only,
//    constant blocks, rounding ties), and the reference dot products against a double oracle;
//  - every AVX2 kernel of these types against the reference on random data.
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/core/cpu_features.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/kernels/avx2.h"
#include "engine/quant/blocks.h"
#include "engine/quant/fp16.h"
#include "engine/quant/ggml_type.h"
#include "engine/quant/quant_float.h"
#include "engine/quant/quant_legacy.h"
#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

using Bytes = std::vector<uint8_t>;
using QuantizeFn = void (*)(const float*, void*, int64_t);
using DequantizeFn = void (*)(const void*, float*, int64_t);
using DotFn = void (*)(int64_t, float*, const void*, const void*);

uint32_t bits_of(float f) {
  return std::bit_cast<uint32_t>(f);
}
float float_of(uint32_t b) {
  return std::bit_cast<float>(b);
}

bool is_half_nan(uint16_t h) {
  return (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0;
}
bool is_bf16_nan(uint16_t h) {
  return (h & 0x7f80) == 0x7f80 && (h & 0x007f) != 0;
}

// ---------------------------------------------------------------------------------------------
// F16C as an oracle. Compiled for F16C only; call after checking the CPU.

bool cpu_has_f16c() {
  return detect_cpu_features().f16c;
}

__attribute__((target("f16c"))) std::vector<uint16_t> f16c_fp32_to_fp16(
    const std::vector<float>& x) {
  std::vector<float> padded(x);
  padded.resize((x.size() + 3) / 4 * 4, 0.0f);
  std::vector<uint16_t> out(padded.size());
  for (size_t i = 0; i < padded.size(); i += 4) {
    const __m128i h = _mm_cvtps_ph(_mm_loadu_ps(&padded[i]), _MM_FROUND_TO_NEAREST_INT);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(&out[i]), h);
  }
  out.resize(x.size());
  return out;
}

__attribute__((target("f16c"))) float f16c_fp16_to_fp32(uint16_t h) {
  return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

// ---------------------------------------------------------------------------------------------
// fp16

// The value of a binary16 from its definition, in double (exact).
double half_value(uint16_t h) {
  const int sign = (h & 0x8000) ? -1 : 1;
  const int e = (h >> 10) & 0x1f;
  const int m = h & 0x3ff;
  if (e == 0) return sign * std::ldexp(m, -24);
  if (e == 31) return sign * HUGE_VAL;
  return sign * std::ldexp(1024 + m, e - 25);
}

TEST(Fp16Test, HalfToFloatIsExactForAllPatterns) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    const float f = fp16_to_fp32(h);
    if (is_half_nan(h)) {
      // Quiet NaN with the payload kept (what F16C does).
      const uint32_t expected =
          (static_cast<uint32_t>(h & 0x8000) << 16) | 0x7fc00000u | ((h & 0x3ffu) << 13);
      ASSERT_EQ(bits_of(f), expected) << std::hex << h;
      continue;
    }
    ASSERT_EQ(static_cast<double>(f), half_value(h)) << std::hex << h;
    ASSERT_EQ(std::signbit(f), (h & 0x8000) != 0) << std::hex << h;
  }
}

TEST(Fp16Test, HalfToFloatMatchesF16cForAllPatterns) {
  if (!cpu_has_f16c()) GTEST_SKIP() << "CPU without F16C";
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    ASSERT_EQ(bits_of(fp16_to_fp32(h)), bits_of(f16c_fp16_to_fp32(h))) << std::hex << h;
  }
}

TEST(Fp16Test, RoundTripsAllPatterns) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    const uint16_t back = fp32_to_fp16(fp16_to_fp32(h));
    // A signalling NaN comes back quiet (bit 9 set), everything else unchanged.
    const uint16_t expected = is_half_nan(h) ? static_cast<uint16_t>(h | 0x0200) : h;
    ASSERT_EQ(back, expected) << std::hex << h;
  }
}

TEST(Fp16Test, KnownConversions) {
  const struct {
    float f;
    uint16_t h;
  } cases[] = {
      {0.0f, 0x0000},
      {-0.0f, 0x8000},
      {1.0f, 0x3c00},
      {-2.0f, 0xc000},
      {65504.0f, 0x7bff},                      // largest half
      {65519.996f, 0x7bff},                    // just under the halfway point to 2^16
      {65520.0f, 0x7c00},                      // halfway, ties to even = infinity
      {1e10f, 0x7c00},                         // overflow
      {-INFINITY, 0xfc00},                     //
      {std::ldexp(1.0f, -14), 0x0400},         // smallest normal
      {std::ldexp(1.0f, -24), 0x0001},         // smallest subnormal
      {std::ldexp(1.0f, -25), 0x0000},         // halfway to the smallest subnormal: ties to even 0
      {std::ldexp(1.5f, -25), 0x0001},         // above halfway
      {std::ldexp(3.0f, -25), 0x0002},         // 1.5 subnormal steps: ties to even 2
      {std::ldexp(1023.5f, -24), 0x0400},      // rounds up from subnormal into the first normal
      {1.0f + std::ldexp(1.0f, -11), 0x3c00},  // tie, even stays
      {1.0f + std::ldexp(3.0f, -11), 0x3c02},  // tie, odd rounds up
      {std::ldexp(1.0f, -30), 0x0000},
      {float_of(0x00000001u), 0x0000},  // f32 subnormal
  };
  for (const auto& c : cases) EXPECT_EQ(fp32_to_fp16(c.f), c.h) << c.f;
  EXPECT_EQ(fp32_to_fp16(float_of(0x7f800001u)), 0x7e00);  // sNaN -> qNaN
  EXPECT_EQ(fp32_to_fp16(float_of(0xffc02000u)), 0xfe01);  // payload top bits kept
}

// Floats at and around every rounding boundary of binary16, plus random bit patterns.
std::vector<float> fp16_probe_floats() {
  std::vector<float> x;
  for (uint32_t i = 0; i < 0x7c00; ++i) {  // positive finite halves
    const float lo = fp16_to_fp32(static_cast<uint16_t>(i));
    const float hi = fp16_to_fp32(static_cast<uint16_t>(i + 1));  // 0x7c00 = infinity
    // The midpoint of two halves has 12 significant bits: exact in f32.
    const float mid = i + 1 < 0x7c00 ? 0.5f * (lo + hi) : 65520.0f;
    for (float v : {lo, std::nextafter(lo, 0.0f), std::nextafter(lo, INFINITY), mid,
                    std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY)}) {
      x.push_back(v);
      x.push_back(-v);
    }
  }
  std::mt19937 rng(1234);
  for (int i = 0; i < (1 << 18); ++i) x.push_back(float_of(static_cast<uint32_t>(rng())));
  for (float v : {INFINITY, -INFINITY, NAN, -NAN, float_of(0x7f800001u), float_of(0xff812345u),
                  float_of(0x7fffffffu), std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::denorm_min()}) {
    x.push_back(v);
  }
  return x;
}

TEST(Fp16Test, FloatToHalfMatchesF16c) {
  if (!cpu_has_f16c()) GTEST_SKIP() << "CPU without F16C";
  const std::vector<float> x = fp16_probe_floats();
  const std::vector<uint16_t> expected = f16c_fp32_to_fp16(x);
  int mismatches = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (fp32_to_fp16(x[i]) != expected[i] && ++mismatches <= 10) {
      ADD_FAILURE() << "f32 bits 0x" << std::hex << bits_of(x[i]) << ": got 0x"
                    << fp32_to_fp16(x[i]) << ", F16C 0x" << expected[i];
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << x.size();
}

// ---------------------------------------------------------------------------------------------
// bf16

TEST(Bf16Test, RoundTripsAllPatterns) {
  for (uint32_t i = 0; i < 65536; ++i) {
    const auto h = static_cast<uint16_t>(i);
    const float f = bf16_to_fp32(h);
    ASSERT_EQ(bits_of(f), i << 16);
    const uint16_t expected = is_bf16_nan(h) ? static_cast<uint16_t>(h | 64) : h;
    ASSERT_EQ(fp32_to_bf16(f), expected) << std::hex << h;
  }
}

// Independent statement of the rounding: keep the top 16 bits, add one when the dropped 16 bits
// exceed half, or equal half and the kept part is odd; NaN: truncate and force quiet.
uint16_t bf16_oracle(uint32_t x) {
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);
  uint32_t kept = x >> 16;
  const uint32_t dropped = x & 0xffffu;
  if (dropped > 0x8000u || (dropped == 0x8000u && (kept & 1u))) ++kept;
  return static_cast<uint16_t>(kept);
}

TEST(Bf16Test, RoundsToNearestEven) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(float_of(0x3f808000u)), 0x3f80);  // tie, even stays
  EXPECT_EQ(fp32_to_bf16(float_of(0x3f818000u)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(fp32_to_bf16(float_of(0x3f808001u)), 0x3f81);  // above half
  EXPECT_EQ(fp32_to_bf16(float_of(0x7f7fffffu)), 0x7f80);  // FLT_MAX overflows to infinity
  EXPECT_EQ(fp32_to_bf16(float_of(0x7f800001u)), 0x7fc0);  // sNaN with payload in low bits
  EXPECT_EQ(fp32_to_bf16(-INFINITY), 0xff80);

  std::mt19937 rng(99);
  for (int i = 0; i < (1 << 20); ++i) {
    const auto x = static_cast<uint32_t>(rng());
    ASSERT_EQ(fp32_to_bf16(float_of(x)), bf16_oracle(x)) << std::hex << x;
  }
  for (uint32_t x : {0x00008000u, 0x00018000u, 0x80008000u, 0x007fffffu, 0x7f7f8000u}) {
    EXPECT_EQ(fp32_to_bf16(float_of(x)), bf16_oracle(x)) << std::hex << x;
  }
}

// ---------------------------------------------------------------------------------------------
// Row data

enum class Pattern { kGaussian, kZeros, kOutlier, kNegative, kConstant, kMixed };

// n floats. Gaussian rows get a random scale in 1e-3 .. 1e3 per 32-element block so that the
// f16 block scales are exercised at many magnitudes.
std::vector<float> make_row(Pattern pattern, int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 4);
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t b = 0; b < n; b += 32) {
    Pattern p = pattern;
    if (p == Pattern::kMixed) p = static_cast<Pattern>(pick(rng));
    const float scale = std::pow(10.0f, 6.0f * uniform(rng) - 3.0f);
    const int64_t end = std::min<int64_t>(n, b + 32);
    for (int64_t j = b; j < end; ++j) {
      switch (p) {
        case Pattern::kGaussian:
          x[j] = scale * normal(rng);
          break;
        case Pattern::kZeros:
          x[j] = 0.0f;
          break;
        case Pattern::kOutlier:
          x[j] = 0.01f * normal(rng);
          break;
        case Pattern::kNegative:
          x[j] = -scale * (1.0f + uniform(rng));
          break;
        case Pattern::kConstant:
          x[j] = 0.75f;
          break;
        case Pattern::kMixed:
          break;
      }
    }
    if (p == Pattern::kOutlier) x[b + (rng() % (end - b))] = (rng() & 1 ? 1.0f : -1.0f) * 1.0e4f;
  }
  return x;
}

std::vector<float> gaussian(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(rng);
  return x;
}

// a = 0.5 w + noise: the dot product is about n/2, far from cancellation, so a relative error
// against it is meaningful.
std::vector<float> correlated(const std::vector<float>& w, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> a(w.size());
  for (size_t i = 0; i < w.size(); ++i) a[i] = 0.5f * w[i] + normal(rng);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Conformance with llama.cpp

struct FormatCase {
  const char* name;  // lower case, as in the tensor names of quant-ref.gguf
  GgmlType type;
  QuantizeFn quantize;
  DequantizeFn dequantize;
};

void PrintTo(const FormatCase& c, std::ostream* os) {
  *os << c.name;
}

const FormatCase kFormats[] = {
    {"f16", GgmlType::F16, quantize_row_f16, dequantize_row_f16},
    {"bf16", GgmlType::BF16, quantize_row_bf16, dequantize_row_bf16},
    {"q4_0", GgmlType::Q4_0, quantize_row_q4_0, dequantize_row_q4_0},
    {"q4_1", GgmlType::Q4_1, quantize_row_q4_1, dequantize_row_q4_1},
    {"q5_0", GgmlType::Q5_0, quantize_row_q5_0, dequantize_row_q5_0},
    {"q5_1", GgmlType::Q5_1, quantize_row_q5_1, dequantize_row_q5_1},
    {"q8_0", GgmlType::Q8_0, quantize_row_q8_0, dequantize_row_q8_0},
};

std::string quant_ref_dir() {
  return test::shared_dir() + "/conformance/quant";
}

const gguf::GgufFile& quant_ref_file() {
  static const Result<gguf::GgufFile> file =
      gguf::GgufFile::open(quant_ref_dir() + "/quant-ref.gguf");
  if (!file.ok()) {
    ADD_FAILURE() << file.status().to_string();
    std::abort();
  }
  return *file;
}

class QuantRefTest : public testing::TestWithParam<FormatCase> {
 protected:
  static constexpr int64_t kRows = 8;
  static constexpr int64_t kCols = 1024;

  void SetUp() override {
    QUIRE_REQUIRE_SHARED();
    const gguf::GgufFile& file = quant_ref_file();
    const std::string name = GetParam().name;
    src_ = file.find_tensor("src");
    q_ = file.find_tensor("q." + name);
    deq_ = file.find_tensor("deq." + name);
    ASSERT_NE(src_, nullptr);
    ASSERT_NE(q_, nullptr) << "q." << name;
    ASSERT_NE(deq_, nullptr) << "deq." << name;
    ASSERT_EQ(src_->type, GgmlType::F32);
    ASSERT_EQ(q_->type, GetParam().type);
    ASSERT_EQ(deq_->type, GgmlType::F32);
    for (const auto* t : {src_, q_, deq_}) {
      ASSERT_EQ(t->ne[0], kCols) << t->name;
      ASSERT_EQ(t->ne[1], kRows) << t->name;
    }
    row_bytes_ = ggml_row_size(GetParam().type, kCols);
    ASSERT_EQ(q_->n_bytes, row_bytes_ * kRows);
  }

  const float* src_row(int64_t r) const {
    return reinterpret_cast<const float*>(src_->data) + r * kCols;
  }

  const gguf::TensorInfo* src_ = nullptr;
  const gguf::TensorInfo* q_ = nullptr;
  const gguf::TensorInfo* deq_ = nullptr;
  uint64_t row_bytes_ = 0;
};

TEST_P(QuantRefTest, DequantizeMatchesLlamaCppBitForBit) {
  std::vector<float> got(kCols);
  for (int64_t r = 0; r < kRows; ++r) {
    GetParam().dequantize(q_->data + r * row_bytes_, got.data(), kCols);
    const auto* expected = reinterpret_cast<const float*>(deq_->data) + r * kCols;
    for (int64_t j = 0; j < kCols; ++j) {
      ASSERT_EQ(bits_of(got[j]), bits_of(expected[j]))
          << "row " << r << " col " << j << ": got " << got[j] << ", llama.cpp " << expected[j];
    }
  }
}

TEST_P(QuantRefTest, QuantizeMatchesLlamaCppByteForByte) {
  Bytes got(row_bytes_);
  for (int64_t r = 0; r < kRows; ++r) {
    GetParam().quantize(src_row(r), got.data(), kCols);
    const uint8_t* expected = q_->data + r * row_bytes_;
    for (uint64_t k = 0; k < row_bytes_; ++k) {
      ASSERT_EQ(got[k], expected[k]) << "row " << r << " byte " << k << " (block "
                                     << k / ggml_type_info(GetParam().type).type_size << ")";
    }
  }
}

// Round trip src -> ours -> f32 against the statistics llama.cpp's output produced. The bytes
// being identical, only the summation differs (numpy may sum in f32, pairwise): 1e-4 relative.
TEST_P(QuantRefTest, RmseMatchesLlamaCppStatistics) {
  std::ifstream in(quant_ref_dir() + "/quant-ref-stats.json");
  ASSERT_TRUE(in) << "quant-ref-stats.json";
  const nlohmann::json stats = nlohmann::json::parse(in);
  const nlohmann::json* entry = nullptr;
  for (const auto& e : stats["results"]) {
    if (e["type"] == GetParam().name) entry = &e;
  }
  ASSERT_NE(entry, nullptr) << GetParam().name;

  Bytes q(row_bytes_);
  std::vector<float> y(kCols);
  double total_sq = 0.0;
  for (int64_t r = 0; r < kRows; ++r) {
    const float* x = src_row(r);
    GetParam().quantize(x, q.data(), kCols);
    GetParam().dequantize(q.data(), y.data(), kCols);
    double err_sq = 0.0;
    double src_sq = 0.0;
    for (int64_t j = 0; j < kCols; ++j) {
      err_sq += (static_cast<double>(y[j]) - x[j]) * (static_cast<double>(y[j]) - x[j]);
      src_sq += static_cast<double>(x[j]) * x[j];
    }
    total_sq += err_sq;
    const double row_rel = std::sqrt(err_sq / src_sq);
    const double expected_row_rel = (*entry)["row_rel_rmse"][r].get<double>();
    EXPECT_NEAR(row_rel, expected_row_rel, 1e-4 * expected_row_rel) << "row " << r;
  }
  const double rmse = std::sqrt(total_sq / (kRows * kCols));
  const double expected = (*entry)["rmse"].get<double>();
  EXPECT_NEAR(rmse, expected, 1e-4 * expected);
  std::printf("[ rmse     ] %-5s ours %.6g, llama.cpp %.6g\n", GetParam().name, rmse, expected);
}

INSTANTIATE_TEST_SUITE_P(Types, QuantRefTest, testing::ValuesIn(kFormats),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Quantizer properties on random and edge data

struct BlockCase {
  const char* name;
  GgmlType type;
  QuantizeFn quantize;
  DequantizeFn dequantize;
  int max_q;     // largest |code - offset| a weight can get: 8, 16 or 127
  bool has_min;  // stores m = min (Q4_1, Q5_1)
  // Q4_0/Q5_0 codes span -max_q .. max_q - 1 steps with d = max / -max_q: a value of the other
  // sign than max, beyond (max_q - 1/2) steps, is clamped to max_q - 1 steps (error up to d).
  bool clamps;
};

void PrintTo(const BlockCase& c, std::ostream* os) {
  *os << c.name;
}

const BlockCase kBlockCases[] = {
    {"q4_0", GgmlType::Q4_0, quantize_row_q4_0, dequantize_row_q4_0, 8, false, true},
    {"q4_1", GgmlType::Q4_1, quantize_row_q4_1, dequantize_row_q4_1, 15, true, false},
    {"q5_0", GgmlType::Q5_0, quantize_row_q5_0, dequantize_row_q5_0, 16, false, true},
    {"q5_1", GgmlType::Q5_1, quantize_row_q5_1, dequantize_row_q5_1, 31, true, false},
    {"q8_0", GgmlType::Q8_0, quantize_row_q8_0, dequantize_row_q8_0, 127, false, false},
    {"q8_0_act", GgmlType::Q8_0, quantize_row_q8_0_act, dequantize_row_q8_0, 127, false, false},
    {"q8_1_act", GgmlType::Q8_1, quantize_row_q8_1_act, dequantize_row_q8_1, 127, false, false},
};

class BlockQuantTest : public testing::TestWithParam<BlockCase> {};

// The f16 fields at the start of a block: d, then m (Q4_1, Q5_1) or s (Q8_1).
float block_f16(const uint8_t* block, int field) {
  uint16_t h = 0;
  std::memcpy(&h, block + 2 * field, sizeof(h));
  return fp16_to_fp32(h);
}

// Bound on |v - f16(v)|: half an ulp, relative 2^-11 for normals, absolute 2^-25 for subnormals.
double f16_error(double v) {
  return std::fabs(v) * 0x1p-11 + 0x1p-25;
}

// Every value is within half a step of its reconstruction, up to the f16 rounding of the stored
// scale (times at most max_q steps) and of the min, and the f32 roundings of the arithmetic.
TEST_P(BlockQuantTest, ErrorWithinHalfStep) {
  const BlockCase& c = GetParam();
  const auto& info = ggml_type_info(c.type);
  std::mt19937 rng(7);
  for (Pattern pattern : {Pattern::kGaussian, Pattern::kOutlier, Pattern::kNegative,
                          Pattern::kZeros, Pattern::kConstant, Pattern::kMixed}) {
    for (int64_t rows : {1, 3, 7, 33}) {
      const int64_t n = 32 * rows;
      const std::vector<float> x = make_row(pattern, n, rng);
      Bytes q(ggml_row_size(c.type, n));
      std::vector<float> y(n);
      c.quantize(x.data(), q.data(), n);
      c.dequantize(q.data(), y.data(), n);
      for (int64_t b = 0; b < rows; ++b) {
        const uint8_t* block = q.data() + b * info.type_size;
        const float d = std::fabs(block_f16(block, 0));
        const float m = c.has_min ? std::fabs(block_f16(block, 1)) : 0.0f;
        for (int64_t j = 32 * b; j < 32 * (b + 1); ++j) {
          double step_error = 0.5 * d;
          if (c.clamps && std::fabs(x[j]) > (c.max_q - 0.5) * d) {
            step_error = std::fabs(x[j]) - (c.max_q - 1) * d;
          }
          const double bound = step_error + c.max_q * f16_error(d) + f16_error(m) +
                               4 * 0x1p-24 * (std::fabs(x[j]) + m) + 1e-30;
          ASSERT_LE(std::fabs(static_cast<double>(y[j]) - x[j]), bound)
              << c.name << " pattern " << static_cast<int>(pattern) << " block " << b << " x "
              << x[j] << " y " << y[j];
        }
      }
    }
  }
}

TEST_P(BlockQuantTest, AllZeroBlockIsExactWithZeroScale) {
  const BlockCase& c = GetParam();
  const std::vector<float> x(64, 0.0f);
  Bytes q(ggml_row_size(c.type, 64), 0xaa);
  std::vector<float> y(64, 1.0f);
  c.quantize(x.data(), q.data(), 64);
  c.dequantize(q.data(), y.data(), 64);
  for (int b = 0; b < 2; ++b) EXPECT_EQ(block_f16(q.data() + b * q.size() / 2, 0), 0.0f);
  for (float v : y) ASSERT_EQ(v, 0.0f);
}

// A constant block of a value with a short binary expansion: the 4/5-bit types reproduce it
// exactly (d = -1.25 / -8 or / -16 is an f16, and for Q4_1/Q5_1 m = min carries it); the 8-bit
// types store d = 1.25 / 127, whose f16 rounding is the only error (127 steps of it).
TEST_P(BlockQuantTest, ConstantBlock) {
  const BlockCase& c = GetParam();
  const std::vector<float> x(32, -1.25f);
  Bytes q(ggml_row_size(c.type, 32));
  std::vector<float> y(32);
  c.quantize(x.data(), q.data(), 32);
  c.dequantize(q.data(), y.data(), 32);
  const double tolerance = c.max_q == 127 ? 127 * f16_error(1.25 / 127) : 0.0;
  for (float v : y) ASSERT_NEAR(v, -1.25f, tolerance) << c.name;
}

TEST_P(BlockQuantTest, OutlierKeepsItsValue) {
  const BlockCase& c = GetParam();
  std::mt19937 rng(3);
  std::vector<float> x = gaussian(32, rng);
  for (float& v : x) v *= 0.01f;
  x[5] = -3.0e4f;
  Bytes q(ggml_row_size(c.type, 32));
  std::vector<float> y(32);
  c.quantize(x.data(), q.data(), 32);
  c.dequantize(q.data(), y.data(), 32);
  // The outlier sets the scale; only the f16 rounding of d (and of m) separates it from its
  // reconstruction: relative 2^-11 each, plus a rounding of the final product.
  EXPECT_NEAR(y[5], x[5], 3.0e4 * 0x1p-10) << c.name;
  // The small values are within a step of zero.
  const float d = std::fabs(block_f16(q.data(), 0));
  for (int j = 0; j < 32; ++j) {
    if (j != 5) {
      EXPECT_LE(std::fabs(y[j]), 1.01f * d) << c.name << " " << j;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, BlockQuantTest, testing::ValuesIn(kBlockCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ActivationQuantTest, RoundsHalfToEvenUnlikeTheWeightQuantizer) {
  // amax = 127 gives d = 1 and id = 127/127 = 1: x * id = x, so the ties are exact.
  const float x[32] = {127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.49f, -126.5f, 125.5f};
  const int8_t act_expected[10] = {127, 0, 2, 2, 0, -2, -2, 3, -126, 126};
  const int8_t weight_expected[10] = {127, 1, 2, 3, -1, -2, -3, 3, -127, 126};  // roundf
  BlockQ8_0 act{};
  BlockQ8_1 act1{};
  BlockQ8_0 weight{};
  quantize_row_q8_0_act(x, &act, 32);
  quantize_row_q8_1_act(x, &act1, 32);
  quantize_row_q8_0(x, &weight, 32);
  EXPECT_EQ(act.d, 0x3c00);
  EXPECT_EQ(act1.d, 0x3c00);
  EXPECT_EQ(weight.d, 0x3c00);
  int sum = 0;
  for (int j = 0; j < 10; ++j) {
    EXPECT_EQ(act.qs[j], act_expected[j]) << j;
    EXPECT_EQ(act1.qs[j], act_expected[j]) << j;
    EXPECT_EQ(weight.qs[j], weight_expected[j]) << j;
    sum += act_expected[j];
  }
  EXPECT_EQ(act1.s, fp32_to_fp16(static_cast<float>(sum)));  // s = d * sum(q), d = 1
}

TEST(ActivationQuantTest, Q8_1SumUsesTheUnroundedScale) {
  std::mt19937 rng(11);
  const std::vector<float> x = gaussian(32 * 33, rng);
  std::vector<BlockQ8_1> q(33);
  quantize_row_q8_1_act(x.data(), q.data(), 32 * 33);
  for (int b = 0; b < 33; ++b) {
    float amax = 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      amax = std::max(amax, std::fabs(x[32 * b + j]));
      sum += q[b].qs[j];
    }
    EXPECT_EQ(q[b].d, fp32_to_fp16(amax / 127.0f));
    EXPECT_EQ(q[b].s, fp32_to_fp16(amax / 127.0f * static_cast<float>(sum))) << b;
  }
}

// ---------------------------------------------------------------------------------------------
// Reference dot products against a double oracle computed from the dequantized rows.

struct DotCase {
  const char* name;
  GgmlType weight_type;
  GgmlType act_type;
  QuantizeFn quantize_weight;
  QuantizeFn quantize_act;  // the inference-time activation quantizer
  DequantizeFn dequantize_weight;
  DequantizeFn dequantize_act;
  DotFn reference;
  DotFn avx2;
  int block;
};

void PrintTo(const DotCase& c, std::ostream* os) {
  *os << c.name;
}

const DotCase kDotCases[] = {
    {"f32", GgmlType::F32, GgmlType::F32, quantize_row_f32, quantize_row_f32, dequantize_row_f32,
     dequantize_row_f32, vec_dot_f32_f32, avx2::vec_dot_f32_f32, 1},
    {"f16", GgmlType::F16, GgmlType::F16, quantize_row_f16, quantize_row_f16, dequantize_row_f16,
     dequantize_row_f16, vec_dot_f16_f16, avx2::vec_dot_f16_f16, 1},
    {"bf16", GgmlType::BF16, GgmlType::BF16, quantize_row_bf16, quantize_row_bf16,
     dequantize_row_bf16, dequantize_row_bf16, vec_dot_bf16_bf16, avx2::vec_dot_bf16_bf16, 1},
    {"q4_0", GgmlType::Q4_0, GgmlType::Q8_0, quantize_row_q4_0, quantize_row_q8_0_act,
     dequantize_row_q4_0, dequantize_row_q8_0, vec_dot_q4_0_q8_0, avx2::vec_dot_q4_0_q8_0, 32},
    {"q4_1", GgmlType::Q4_1, GgmlType::Q8_1, quantize_row_q4_1, quantize_row_q8_1_act,
     dequantize_row_q4_1, dequantize_row_q8_1, vec_dot_q4_1_q8_1, avx2::vec_dot_q4_1_q8_1, 32},
    {"q5_0", GgmlType::Q5_0, GgmlType::Q8_0, quantize_row_q5_0, quantize_row_q8_0_act,
     dequantize_row_q5_0, dequantize_row_q8_0, vec_dot_q5_0_q8_0, avx2::vec_dot_q5_0_q8_0, 32},
    {"q5_1", GgmlType::Q5_1, GgmlType::Q8_1, quantize_row_q5_1, quantize_row_q8_1_act,
     dequantize_row_q5_1, dequantize_row_q8_1, vec_dot_q5_1_q8_1, avx2::vec_dot_q5_1_q8_1, 32},
    {"q8_0", GgmlType::Q8_0, GgmlType::Q8_0, quantize_row_q8_0, quantize_row_q8_0_act,
     dequantize_row_q8_0, dequantize_row_q8_0, vec_dot_q8_0_q8_0, avx2::vec_dot_q8_0_q8_0, 32},
};

// One weight row and one activation row, quantized, with what the oracles need.
struct DotInputs {
  Bytes w, a;
  double exact = 0.0;      // sum of dequantized w_j * a_j in double
  double abs_terms = 0.0;  // sum of |w_j * a_j|: the scale of any summation error
  double min_slack = 0.0;  // Q8_1: what the f16 rounding of s may move the min term
  // Sum of |per-block terms| of the reference dot, the scale of the error of summing them in
  // another order. For Q4_1/Q5_1 a term d_w d_a sumi + m_w s_a can exceed sum |w_j a_j|: the
  // f16 rounding of s shows when the two halves cancel.
  double abs_block_terms = 0.0;
  double error_scale() const { return std::max(abs_terms, abs_block_terms); }
};

DotInputs make_dot_inputs(const DotCase& c, const std::vector<float>& wf,
                          const std::vector<float>& af) {
  const auto n = static_cast<int64_t>(wf.size());
  DotInputs in;
  in.w.resize(ggml_row_size(c.weight_type, n));
  in.a.resize(ggml_row_size(c.act_type, n));
  c.quantize_weight(wf.data(), in.w.data(), n);
  c.quantize_act(af.data(), in.a.data(), n);
  std::vector<float> wd(n), ad(n);
  c.dequantize_weight(in.w.data(), wd.data(), n);
  c.dequantize_act(in.a.data(), ad.data(), n);
  for (int64_t j = 0; j < n; ++j) {
    in.exact += static_cast<double>(wd[j]) * ad[j];
    in.abs_terms += std::fabs(static_cast<double>(wd[j]) * ad[j]);
  }
  if (c.act_type == GgmlType::Q8_1) {
    // The dot uses m_w * s_a with s_a = f16(d * sum q_a), d the f32 scale, where the oracle has
    // f16(d) * sum q_a: two f16 roundings apart.
    const auto* ab = reinterpret_cast<const BlockQ8_1*>(in.a.data());
    const size_t w_block_bytes = ggml_type_info(c.weight_type).type_size;
    for (int64_t b = 0; b < n / 32; ++b) {
      const double m = block_f16(in.w.data() + b * w_block_bytes, 1);
      int sum = 0;
      for (int8_t v : ab[b].qs) sum += v;
      const double s = fp16_to_fp32(ab[b].s);
      in.min_slack +=
          std::fabs(m) * (f16_error(s) + std::abs(sum) * f16_error(fp16_to_fp32(ab[b].d)));
    }
  }
  const size_t w_block_bytes = ggml_type_info(c.weight_type).type_size;
  const size_t a_block_bytes = ggml_type_info(c.act_type).type_size;
  for (int64_t b = 0; b < n / c.block; ++b) {
    float term = 0.0f;
    c.reference(c.block, &term, in.w.data() + b * w_block_bytes, in.a.data() + b * a_block_bytes);
    in.abs_block_terms += std::fabs(term);
  }
  return in;
}

class DotTest : public testing::TestWithParam<DotCase> {
 protected:
  std::vector<int64_t> sizes() const {
    if (GetParam().block == 1) return {1, 3, 7, 33, 32, 64, 96, 4096, 11008};
    return {32, 64, 96, 224, 4064, 4096, 11008};  // 1, 2, 3, 7, 127, 128, 344 blocks
  }
};

// The reference accumulates in f32 (integer types) or double (float types); against the exact
// double sum it may err by the f32 roundings of at most n/32 block terms (or one final
// rounding): < 1e-5 of the sum of |terms| for these sizes.
TEST_P(DotTest, ReferenceMatchesDoubleOracle) {
  const DotCase& c = GetParam();
  std::mt19937 rng(21);
  for (int64_t n : sizes()) {
    for (Pattern pattern : {Pattern::kGaussian, Pattern::kMixed, Pattern::kNegative}) {
      const std::vector<float> wf = make_row(pattern, n, rng);
      const std::vector<float> af = make_row(Pattern::kGaussian, n, rng);
      const DotInputs in = make_dot_inputs(c, wf, af);
      float got = 0.0f;
      c.reference(n, &got, in.w.data(), in.a.data());
      EXPECT_NEAR(got, in.exact, 1e-5 * in.abs_terms + in.min_slack + 1e-30)
          << c.name << " n " << n << " pattern " << static_cast<int>(pattern);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, DotTest, testing::ValuesIn(kDotCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// AVX2 kernels against the reference

#define QUIRE_REQUIRE_AVX2()                                                                      \
  do {                                                                                            \
    if (!cpu_features().has_avx2_kernels())                                                       \
      GTEST_SKIP() << "AVX2/FMA/F16C kernels unavailable (" << cpu_features().to_string() << ")"; \
  } while (0)

class Avx2DotTest : public DotTest {
 protected:
  void SetUp() override { QUIRE_REQUIRE_AVX2(); }
};

// ---------------------------------------------------------------------------------------------
// llama.cpp's x86 AVX2 rounding order (build 4748), written out in scalar code: the AVX2 kernels
// of Q4_0, Q5_0 and Q8_0 must reproduce it bit for bit (see engine/kernels/avx2_legacy.cpp).

// Weight levels of 32-weight block b, in weight order (for Q4_0 / Q5_0 the offset removed).
std::vector<int> block_levels(GgmlType type, const uint8_t* row, int64_t b) {
  std::vector<int> q(32);
  if (type == GgmlType::Q8_0) {
    const auto& blk = reinterpret_cast<const BlockQ8_0*>(row)[b];
    for (int j = 0; j < 32; ++j) q[j] = blk.qs[j];
  } else if (type == GgmlType::Q4_0) {
    const auto& blk = reinterpret_cast<const BlockQ4_0*>(row)[b];
    for (int j = 0; j < 16; ++j) {
      q[j] = (blk.qs[j] & 15) - 8;
      q[j + 16] = (blk.qs[j] >> 4) - 8;
    }
  } else {
    const auto& blk = reinterpret_cast<const BlockQ5_0*>(row)[b];
    uint32_t qh = 0;
    std::memcpy(&qh, blk.qh, sizeof(qh));
    for (int j = 0; j < 16; ++j) {
      q[j] = ((blk.qs[j] & 15) | static_cast<int>(((qh >> j) & 1) << 4)) - 16;
      q[j + 16] = ((blk.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4)) - 16;
    }
  }
  return q;
}

uint16_t block_d(GgmlType type, const uint8_t* row, int64_t b) {
  const size_t bytes = ggml_type_info(type).type_size;
  uint16_t d = 0;
  std::memcpy(&d, row + b * bytes, sizeof(d));  // d is the first field of these blocks
  return d;
}

// llama.cpp's hsum_float_8: (l_k + l_(k+4)), then (0, 2) + (1, 3).
float hsum_float_8(const float* l) {
  float t[4];
  for (int k = 0; k < 4; ++k) t[k] = l[k + 4] + l[k];
  return (t[0] + t[2]) + (t[1] + t[3]);
}

// Q5_0 / Q8_0 (ggml_vec_dot_*_q8_0): per block d = d_w * d_a in f32; 8 lanes of 4 consecutive
// products each, acc_k = fma(d, lane_k, acc_k); hsum at the end. Q4_0 (the repacked
// ggml_gemv/gemm_q4_0_8x8_q8_0): acc = fma(block sum, d, acc) in one chain.
float llama_order_dot(GgmlType type, int64_t n, const uint8_t* w, const uint8_t* a) {
  const auto* ab = reinterpret_cast<const BlockQ8_0*>(a);
  float lanes[8] = {};
  float chain = 0.0f;
  for (int64_t b = 0; b < n / 32; ++b) {
    const std::vector<int> q = block_levels(type, w, b);
    const float d = fp16_to_fp32(block_d(type, w, b)) * fp16_to_fp32(ab[b].d);
    int block_sum = 0;
    for (int k = 0; k < 8; ++k) {
      int lane = 0;
      for (int j = 4 * k; j < 4 * k + 4; ++j) lane += q[j] * ab[b].qs[j];
      block_sum += lane;
      lanes[k] = std::fma(d, static_cast<float>(lane), lanes[k]);
    }
    chain = std::fma(static_cast<float>(block_sum), d, chain);
  }
  return type == GgmlType::Q4_0 ? chain : hsum_float_8(lanes);
}

bool follows_llama_order(GgmlType type) {
  return type == GgmlType::Q4_0 || type == GgmlType::Q5_0 || type == GgmlType::Q8_0;
}

// Q4_0, Q5_0, Q8_0: bit-identical to the scalar model of llama.cpp's order above, one block
// and many (edge patterns included).
class Avx2LlamaOrderTest : public Avx2DotTest {};

TEST_P(Avx2LlamaOrderTest, BitIdenticalToLlamaCpp) {
  const DotCase& c = GetParam();
  std::mt19937 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    const auto pattern = static_cast<Pattern>(trial % 6);
    const int64_t n = trial < 100 ? 32 : 32 * (1 + trial % 37);
    const std::vector<float> wf = make_row(pattern, n, rng);
    const std::vector<float> af = make_row(trial % 2 ? Pattern::kGaussian : pattern, n, rng);
    const DotInputs in = make_dot_inputs(c, wf, af);
    const float want = llama_order_dot(c.weight_type, n, in.w.data(), in.a.data());
    float fast = 0.0f;
    c.avx2(n, &fast, in.w.data(), in.a.data());
    ASSERT_EQ(bits_of(fast), bits_of(want))
        << c.name << " trial " << trial << " n " << n << ": " << fast << " vs " << want;
  }
}

// The other types: one block (one element for the float types) has the same integer sum and
// the same single rounding of d_w d_a sumi (+ m_w s_a) as the reference: bit-identical. For the
// llama-order types a block is 8 rounded lane products and 7 additions (Q4_0: one rounding)
// against the reference's one rounding: at most ~16 roundings of 2^-24 of the block's sum of
// |terms| apart, so within 1e-6 of it.
TEST_P(Avx2DotTest, OneBlockMatchesReference) {
  const DotCase& c = GetParam();
  std::mt19937 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    const auto pattern = static_cast<Pattern>(trial % 6);
    const std::vector<float> wf = make_row(pattern, c.block, rng);
    const std::vector<float> af = make_row(trial % 2 ? Pattern::kGaussian : pattern, c.block, rng);
    const DotInputs in = make_dot_inputs(c, wf, af);
    float ref = 0.0f, fast = 0.0f;
    c.reference(c.block, &ref, in.w.data(), in.a.data());
    c.avx2(c.block, &fast, in.w.data(), in.a.data());
    if (follows_llama_order(c.weight_type)) {
      ASSERT_NEAR(fast, ref, 1e-6 * in.error_scale()) << c.name << " trial " << trial;
    } else {
      ASSERT_EQ(bits_of(fast), bits_of(ref))
          << c.name << " trial " << trial << ": " << fast << " vs " << ref;
    }
  }
}

// Many blocks: only the order of the f32 additions differs. With the summation error bounded
// by roughly sqrt(terms) * 2^-24 * sum|terms| for random data, 1e-5 of sum|terms| has a wide
// margin; on correlated data (no cancellation) the same 1e-5 holds relative to the result.
TEST_P(Avx2DotTest, ManyBlocksWithinRelativeError) {
  const DotCase& c = GetParam();
  std::mt19937 rng(17);
  for (int64_t n : sizes()) {
    const int rows = n <= 4096 ? 7 : 3;
    for (int r = 0; r < rows; ++r) {
      const auto pattern = r == 0 ? Pattern::kMixed : Pattern::kGaussian;
      const std::vector<float> wf =
          pattern == Pattern::kGaussian ? gaussian(n, rng) : make_row(pattern, n, rng);
      const std::vector<float> af = r % 2 ? correlated(wf, rng) : gaussian(n, rng);
      const DotInputs in = make_dot_inputs(c, wf, af);
      float ref = 0.0f, fast = 0.0f;
      c.reference(n, &ref, in.w.data(), in.a.data());
      c.avx2(n, &fast, in.w.data(), in.a.data());
      EXPECT_NEAR(fast, ref, 1e-5 * in.error_scale()) << c.name << " n " << n << " row " << r;
      if (r % 2 == 1) {
        EXPECT_LE(std::fabs(static_cast<double>(fast) - ref), 1e-5 * std::fabs(ref))
            << c.name << " n " << n << " row " << r << " (correlated)";
      }
    }
  }
}

TEST_P(Avx2DotTest, EdgeRows) {
  const DotCase& c = GetParam();
  std::mt19937 rng(23);
  for (Pattern pattern :
       {Pattern::kZeros, Pattern::kOutlier, Pattern::kNegative, Pattern::kConstant}) {
    for (int64_t n : {int64_t{32}, int64_t{256}, int64_t{4096}}) {
      const std::vector<float> wf = make_row(pattern, n, rng);
      const std::vector<float> af = make_row(pattern, n, rng);
      const DotInputs in = make_dot_inputs(c, wf, af);
      float ref = 0.0f, fast = 0.0f;
      c.reference(n, &ref, in.w.data(), in.a.data());
      c.avx2(n, &fast, in.w.data(), in.a.data());
      if (pattern == Pattern::kZeros) {
        EXPECT_EQ(fast, 0.0f) << c.name;
        EXPECT_EQ(ref, 0.0f) << c.name;
      }
      EXPECT_NEAR(fast, ref, 1e-5 * in.error_scale())
          << c.name << " n " << n << " pattern " << static_cast<int>(pattern);
    }
  }
}

std::vector<DotCase> llama_order_cases() {
  std::vector<DotCase> cases;
  for (const DotCase& c : kDotCases) {
    if (follows_llama_order(c.weight_type)) cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Types, Avx2LlamaOrderTest, testing::ValuesIn(llama_order_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(Types, Avx2DotTest, testing::ValuesIn(kDotCases),
                         [](const auto& info) { return std::string(info.param.name); });

struct ActQuantCase {
  const char* name;
  GgmlType type;
  QuantizeFn reference;
  QuantizeFn avx2;
};

void PrintTo(const ActQuantCase& c, std::ostream* os) {
  *os << c.name;
}

const ActQuantCase kActQuantCases[] = {
    {"q8_0", GgmlType::Q8_0, quantize_row_q8_0_act, avx2::quantize_row_q8_0_act},
    {"q8_1", GgmlType::Q8_1, quantize_row_q8_1_act, avx2::quantize_row_q8_1_act},
};

class Avx2ActQuantTest : public testing::TestWithParam<ActQuantCase> {
 protected:
  void SetUp() override { QUIRE_REQUIRE_AVX2(); }
};

void expect_same_quantization(const ActQuantCase& c, const std::vector<float>& x,
                              const std::string& what) {
  const auto n = static_cast<int64_t>(x.size());
  Bytes ref(ggml_row_size(c.type, n), 0x11), fast(ggml_row_size(c.type, n), 0x22);
  c.reference(x.data(), ref.data(), n);
  c.avx2(x.data(), fast.data(), n);
  const size_t block_bytes = ggml_type_info(c.type).type_size;
  for (size_t k = 0; k < ref.size(); ++k) {
    ASSERT_EQ(fast[k], ref[k]) << c.name << " " << what << " byte " << k << " (block "
                               << k / block_bytes << ")";
  }
}

TEST_P(Avx2ActQuantTest, IdenticalBytes) {
  std::mt19937 rng(31);
  for (Pattern pattern : {Pattern::kGaussian, Pattern::kMixed, Pattern::kZeros, Pattern::kOutlier,
                          Pattern::kNegative, Pattern::kConstant}) {
    for (int64_t n : {32, 96, 224, 1056, 4096, 11008}) {  // 1, 3, 7, 33, 128, 344 blocks
      expect_same_quantization(GetParam(), make_row(pattern, n, rng),
                               "pattern " + std::to_string(static_cast<int>(pattern)));
    }
  }
  // Exact ties of x * 127/amax: amax = 127 makes the multiplier 1.
  std::vector<float> ties(64);
  for (int j = 0; j < 64; ++j) ties[j] = j % 32 == 0 ? 127.0f : (j - 32) + 0.5f;
  expect_same_quantization(GetParam(), ties, "ties");
}

INSTANTIATE_TEST_SUITE_P(Types, Avx2ActQuantTest, testing::ValuesIn(kActQuantCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Avx2F16Test, DequantizeIdenticalToReference) {
  QUIRE_REQUIRE_AVX2();
  // Every pattern (NaNs included) in one row, then odd lengths for the tails.
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  for (int64_t n : {65536, 1, 3, 7, 33, 4099}) {
    std::vector<float> ref(n), fast(n);
    dequantize_row_f16(all.data() + 65536 - n, ref.data(), n);
    avx2::dequantize_row_f16(all.data() + 65536 - n, fast.data(), n);
    for (int64_t j = 0; j < n; ++j) ASSERT_EQ(bits_of(fast[j]), bits_of(ref[j])) << n << " " << j;
  }
}

TEST(Avx2F16Test, QuantizeIdenticalToReference) {
  QUIRE_REQUIRE_AVX2();
  const std::vector<float> probes = fp16_probe_floats();
  std::mt19937 rng(41);
  for (int64_t n : {static_cast<int64_t>(probes.size()), int64_t{1}, int64_t{3}, int64_t{7},
                    int64_t{33}, int64_t{4096}, int64_t{11008}}) {
    const std::vector<float> x =
        n == static_cast<int64_t>(probes.size()) ? probes : make_row(Pattern::kMixed, n, rng);
    std::vector<uint16_t> ref(n), fast(n);
    quantize_row_f16(x.data(), ref.data(), n);
    avx2::quantize_row_f16(x.data(), fast.data(), n);
    for (int64_t j = 0; j < n; ++j) {
      ASSERT_EQ(fast[j], ref[j]) << "n " << n << " f32 bits 0x" << std::hex << bits_of(x[j]);
    }
  }
}

}  // namespace
}  // namespace quire::engine
