// Scalar conversions between f32 and the 16-bit float formats, bit-exact with hardware F16C
// (IEEE binary16, round to nearest even) and with ggml's bf16 rounding.
#pragma once

#include <cstdint>

namespace quire::engine {

// IEEE binary16 -> binary32 (exact; NaN payloads kept, subnormals handled).
float fp16_to_fp32(uint16_t h);
// binary32 -> binary16 with round-to-nearest-even, overflow to infinity, NaN kept NaN;
// identical to _mm_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT).
uint16_t fp32_to_fp16(float f);

// bfloat16 (top 16 bits of a binary32) -> binary32 (exact).
float bf16_to_fp32(uint16_t h);
// binary32 -> bfloat16 rounding to nearest even; NaN becomes a quiet NaN (as ggml does).
uint16_t fp32_to_bf16(float f);

}  // namespace quire::engine
