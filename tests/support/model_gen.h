// Random-weight GGUF models of real shapes, written with our GGUF writer, for tests and
// benchmarks (no weights can be downloaded here). Seeded: the same arguments give the same file.
#pragma once

#include <cstdint>
#include <string>

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
};

// all-MiniLM-L6-v2's shape and bge-base-en's shape.
BertShape minilm_l6_shape(engine::GgmlType type);
BertShape bge_base_shape(engine::GgmlType type);

// Writes a BERT model of `shape` with the tokenizer (every tokenizer.* key) of `vocab`, e.g.
// conformance/vocab/ggml-vocab-bert-bge.gguf (30,522 tokens, as MiniLM and bge).
Status write_random_bert(const std::string& path, const BertShape& shape,
                         const engine::gguf::GgufFile& vocab);

}  // namespace quire::test
