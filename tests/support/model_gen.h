// Random-weight GGUF models of real shapes, written with our GGUF writer, for tests and
// benchmarks (no weights can be downloaded here). Seeded: the same arguments give the same file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/quant/ggml_type.h"

namespace quire::test {

struct BertShape {
  std::string name = "random-bert";
  int64_t n_embd = 384;
  int64_t n_layer = 6;
  int64_t n_head = 12;
  int64_t n_ff = 1536;
  int64_t n_ctx = 512;
  engine::GgmlType weight_type = engine::GgmlType::F16;  // 2-D weights; norms and biases F32
  uint64_t seed = 1;
  // A cross-encoder: pooling type 4 (rank) and llama.cpp's classification head, cls.weight
  // [e, e] (weight_type) + cls.bias, cls.output.weight [e, 1] + cls.output.bias (F32).
  bool rank_head = false;
};

// all-MiniLM-L6-v2's shape and bge-base-en's shape.
BertShape minilm_l6_shape(engine::GgmlType type);
BertShape bge_base_shape(engine::GgmlType type);

// Writes a BERT model of `shape` with the tokenizer (every tokenizer.* key) of `vocab`, e.g.
// conformance/vocab/ggml-vocab-bert-bge.gguf (30,522 tokens, as MiniLM and bge).
Status write_random_bert(const std::string& path, const BertShape& shape,
                         const engine::gguf::GgufFile& vocab);

// A llama-family decoder: llama (TinyLlama), qwen2 (Qwen2.5: q/k/v biases), qwen3 (per-head
// RMSNorm of q and k: attn_q_norm / attn_k_norm [head_dim], no biases).
struct DecoderShape {
  std::string arch = "llama";
  std::string name = "random-llama";
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t n_ff = 0;
  int64_t n_ctx = 4096;
  int64_t head_dim = 0;  // 0: n_embd / n_head
  float rope_base = 10000.0f;
  float rms_eps = 1e-5f;
  bool tied_embeddings = false;  // no output.weight: the output projection is token_embd
  // "F32", or a scheme of engine/model/quantize_model.h ("F16", "Q8_0", "Q4_K_M", ...): the
  // per-tensor types are the ones `quire quantize` would choose for an F32 file of this shape.
  std::string ftype = "F32";
  uint64_t seed = 1;
};

// Qwen2.5-0.5B: 896 wide, 24 layers, 14/2 heads, FFN 4864, tied, rope base 1e6, eps 1e-6.
DecoderShape qwen25_05b_shape(const std::string& ftype);
// TinyLlama-1.1B: 2048 wide, 22 layers, 32/4 heads, FFN 5632, untied, rope base 1e4, eps 1e-5.
DecoderShape tinyllama_shape(const std::string& ftype);
// A small model for tests, F32: 128 wide, 2 layers, 4/2 heads, FFN 256, n_ctx 512; llama
// untied, qwen2 and qwen3 tied; qwen3 with head_dim 64 (n_head * head_dim = 256 != n_embd, as
// in real Qwen3 models, so the key_length path is exercised).
DecoderShape tiny_decoder_shape(const std::string& arch);

// One tensor of the file, in file order.
struct DecoderTensor {
  std::string name;
  engine::GgmlType type;
  std::vector<int64_t> ne;  // ggml order: ne[0] is the row (input) dimension
};

// The tensors write_random_decoder writes for `shape` and a vocabulary of n_vocab tokens.
// kInvalidArgument for an unknown arch or ftype, non-positive sizes, n_head not a multiple of
// n_head_kv, or n_embd not a multiple of n_head when head_dim is 0.
Result<std::vector<DecoderTensor>> decoder_tensors(const DecoderShape& shape, int64_t n_vocab);

// Writes a random-weight decoder with llama.cpp's metadata keys and tensor names and every
// tokenizer.* key of `vocab` (n_vocab = its token count): e.g. conformance/vocab/
// ggml-vocab-qwen2.gguf (151,936 tokens) for the Qwen2.5 shape, ggml-vocab-llama-spm.gguf
// (32,000) for TinyLlama. Weights: matrices N(0, 1/sqrt(ne[0])) (activations stay O(1) through
// the layers), norms 1 + N(0, 0.1), biases N(0, 0.02), norms and biases F32. Values depend only
// on seed, tensor name and row, not on ftype or threads: every tensor of an F32 file
// requantized with quantize_model() equals, byte for byte, the one written directly in that
// ftype.
// Tensors are generated and quantized while the file is written (n_threads <= 0: all CPUs),
// never all in memory at once.
Status write_random_decoder(const std::string& path, const DecoderShape& shape,
                            const engine::gguf::GgufFile& vocab, int n_threads = 0);

}  // namespace quire::test
