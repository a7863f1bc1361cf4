// The key/value cache of a decoder: for every sequence and layer, the K and V rows of each
// position seen so far, stored as F32, F16 (the default, as llama.cpp) or Q8_0.
//
// Each sequence owns its rows (no cell sharing between sequences), grown on demand up to the
// context length, so memory is what the sequences actually hold. Sequences can be truncated
// (drop positions [n, end): the tail of a previous answer, or everything after a shared prompt
// prefix) and a prefix can be copied from one sequence to another (one system prompt prefilled
// once, many questions after it). Removing a range in the middle is not offered: the positions
// after it would need their rotary embeddings recomputed.
//
// Row layout: K and V rows of a position are n_head_kv * head_dim values of the cache type; for
// Q8_0 each head is whole blocks (head_dim a multiple of 32, checked). Not thread-safe; the model
// reads and writes rows of distinct positions from many threads during one forward step.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/quant/ggml_type.h"

namespace quire::engine {

enum class KvType { kF32, kF16, kQ8_0 };

std::string_view kv_type_name(KvType type);  // "f32", "f16", "q8_0"
Result<KvType> parse_kv_type(std::string_view name);
GgmlType kv_ggml_type(KvType type);

class KvCache {
 public:
  // n_ctx: positions each sequence may hold.
  static Result<KvCache> create(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, KvType type,
                                int64_t n_ctx);
  KvCache() = default;

  KvType type() const { return type_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_layer() const { return n_layer_; }
  int64_t head_dim() const { return head_dim_; }
  int64_t n_head_kv() const { return n_head_kv_; }
  size_t row_bytes() const { return row_bytes_; }
  size_t head_bytes() const { return row_bytes_ / static_cast<size_t>(n_head_kv_); }

  // A new empty sequence; ids of removed sequences are reused.
  int add_sequence();
  void remove_sequence(int seq);
  bool has_sequence(int seq) const;
  int64_t length(int seq) const;  // positions held
  // Keeps positions [0, n) (n <= length).
  void truncate(int seq, int64_t n);
  // dst := the first n positions of src (dst's previous content is dropped).
  Status copy_prefix(int src, int dst, int64_t n);

  // Room for n_new more positions (kResourceExhausted past n_ctx). Rows of positions
  // [length, length + n_new) may then be written; commit() makes them part of the sequence.
  Status reserve(int seq, int64_t n_new);
  void commit(int seq, int64_t n_new);

  uint8_t* k_row(int seq, int64_t layer, int64_t pos) { return row(seq, layer, pos, false); }
  uint8_t* v_row(int seq, int64_t layer, int64_t pos) { return row(seq, layer, pos, true); }

  // Bytes held for one position over all layers (K and V), and in all now.
  uint64_t bytes_per_position() const { return 2ull * n_layer_ * row_bytes_; }
  uint64_t bytes_used() const;
  uint64_t bytes_reserved() const;

 private:
  struct Sequence {
    bool live = false;
    int64_t length = 0;
    std::vector<std::vector<uint8_t>> k, v;  // per layer, length * row_bytes used
  };
  uint8_t* row(int seq, int64_t layer, int64_t pos, bool is_v);

  KvType type_ = KvType::kF16;
  int64_t n_layer_ = 0, n_head_kv_ = 0, head_dim_ = 0, n_ctx_ = 0;
  size_t row_bytes_ = 0;
  std::vector<Sequence> seqs_;
};

}  // namespace quire::engine
