// Qwen2 / Qwen2.5 (q/k/v biases) and Qwen3 (per-head RMSNorm of q and k, no biases): RoPE on
// halves ("NEOX" mode).
#include "engine/arch/decoder.h"

namespace quire::engine {

const DecoderTraits kQwen2Traits = {
    .arch = "qwen2",
    .rope = ops::RopeStyle::kHalves,
    .qkv_bias = true,
    .qk_norm = false,
    .default_rope_base = 1000000.0f,
    .default_rms_eps = 1e-6f,
};

const DecoderTraits kQwen3Traits = {
    .arch = "qwen3",
    .rope = ops::RopeStyle::kHalves,
    .qkv_bias = false,
    .qk_norm = true,
    .default_rope_base = 1000000.0f,
    .default_rms_eps = 1e-6f,
};

}  // namespace quire::engine
