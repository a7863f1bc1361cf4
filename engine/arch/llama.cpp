// Llama (Llama 2/3, TinyLlama, SmolLM, Mistral-style): RoPE on adjacent pairs ("NORM" mode), no
// biases, untied or tied output.
#include "engine/arch/decoder.h"

namespace quire::engine {

const DecoderTraits kLlamaTraits = {
    .arch = "llama",
    .rope = ops::RopeStyle::kAdjacentPairs,
    .qkv_bias = false,
    .qk_norm = false,
    .default_rope_base = 10000.0f,
    .default_rms_eps = 1e-5f,
};

}  // namespace quire::engine
