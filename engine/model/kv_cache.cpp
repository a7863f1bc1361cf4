#include "engine/model/kv_cache.h"

#include <algorithm>
#include <string>

namespace quire::engine {

namespace {

struct KvTypeEntry {
  KvType type;
  std::string_view name;
  GgmlType ggml;
};
// One entry per KvType, in enum order.
constexpr KvTypeEntry kKvTypes[] = {
    {KvType::kF32, "f32", GgmlType::F32},
    {KvType::kF16, "f16", GgmlType::F16},
    {KvType::kQ8_0, "q8_0", GgmlType::Q8_0},
};

const KvTypeEntry& kv_type_entry(KvType type) {
  return kKvTypes[static_cast<size_t>(type)];
}

}  // namespace

std::string_view kv_type_name(KvType type) {
  return kv_type_entry(type).name;
}

Result<KvType> parse_kv_type(std::string_view name) {
  for (const KvTypeEntry& entry : kKvTypes) {
    if (entry.name == name) return entry.type;
  }
  return invalid_argument_error("unknown KV cache type '" + std::string(name) +
                                "' (expected f16, q8_0 or f32)");
}

GgmlType kv_ggml_type(KvType type) {
  return kv_type_entry(type).ggml;
}

Result<KvCache> KvCache::create(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, KvType type,
                                int64_t n_ctx) {
  if (n_layer <= 0 || n_head_kv <= 0 || head_dim <= 0) {
    return invalid_argument_error("KV cache: layers, KV heads and head size must be positive");
  }
  if (n_ctx <= 0) {
    return invalid_argument_error("context length must be positive, got " + std::to_string(n_ctx));
  }
  if (type == KvType::kQ8_0 && head_dim % 32 != 0) {
    return invalid_argument_error("a q8_0 KV cache needs a head size that is a multiple of 32 (" +
                                  std::to_string(head_dim) + ")");
  }
  KvCache c;
  c.type_ = type;
  c.n_layer_ = n_layer;
  c.n_head_kv_ = n_head_kv;
  c.head_dim_ = head_dim;
  c.n_ctx_ = n_ctx;
  c.row_bytes_ = static_cast<size_t>(n_head_kv) *
                 ggml_row_size(kv_ggml_type(type), static_cast<uint64_t>(head_dim));
  return c;
}

int KvCache::add_sequence() {
  for (size_t i = 0; i < seqs_.size(); ++i) {
    if (!seqs_[i].live) {
      seqs_[i].live = true;
      seqs_[i].length = 0;
      return static_cast<int>(i);
    }
  }
  Sequence s;
  s.live = true;
  s.k.resize(static_cast<size_t>(n_layer_));
  s.v.resize(static_cast<size_t>(n_layer_));
  seqs_.push_back(std::move(s));
  return static_cast<int>(seqs_.size() - 1);
}

void KvCache::remove_sequence(int seq) {
  if (!has_sequence(seq)) return;
  Sequence& s = seqs_[static_cast<size_t>(seq)];
  s.live = false;
  s.length = 0;
  for (auto& l : s.k) std::vector<uint8_t>().swap(l);
  for (auto& l : s.v) std::vector<uint8_t>().swap(l);
}

bool KvCache::has_sequence(int seq) const {
  return seq >= 0 && static_cast<size_t>(seq) < seqs_.size() &&
         seqs_[static_cast<size_t>(seq)].live;
}

int64_t KvCache::length(int seq) const {
  return has_sequence(seq) ? seqs_[static_cast<size_t>(seq)].length : 0;
}

void KvCache::truncate(int seq, int64_t n) {
  if (!has_sequence(seq)) return;
  Sequence& s = seqs_[static_cast<size_t>(seq)];
  s.length = std::clamp<int64_t>(n, 0, s.length);
}

Status KvCache::copy_prefix(int src, int dst, int64_t n) {
  if (!has_sequence(src) || !has_sequence(dst)) {
    return invalid_argument_error("copy_prefix: no such sequence");
  }
  if (n < 0 || n > length(src)) {
    return invalid_argument_error("copy_prefix: " + std::to_string(n) + " positions asked, " +
                                  std::to_string(length(src)) + " held");
  }
  if (src == dst) {
    truncate(dst, n);
    return Status();
  }
  Sequence& s = seqs_[static_cast<size_t>(src)];
  Sequence& d = seqs_[static_cast<size_t>(dst)];
  const size_t bytes = static_cast<size_t>(n) * row_bytes_;
  for (size_t l = 0; l < static_cast<size_t>(n_layer_); ++l) {
    d.k[l].assign(s.k[l].begin(), s.k[l].begin() + static_cast<std::ptrdiff_t>(bytes));
    d.v[l].assign(s.v[l].begin(), s.v[l].begin() + static_cast<std::ptrdiff_t>(bytes));
  }
  d.length = n;
  return Status();
}

Status KvCache::reserve(int seq, int64_t n_new) {
  if (!has_sequence(seq)) return invalid_argument_error("no such sequence in the KV cache");
  Sequence& s = seqs_[static_cast<size_t>(seq)];
  if (n_new < 0 || s.length + n_new > n_ctx_) {
    return resource_exhausted_error("context full: " + std::to_string(s.length) + " + " +
                                    std::to_string(n_new) + " tokens exceed the context length " +
                                    std::to_string(n_ctx_));
  }
  const size_t need = static_cast<size_t>(s.length + n_new) * row_bytes_;
  for (size_t l = 0; l < static_cast<size_t>(n_layer_); ++l) {
    if (s.k[l].size() < need) {
      // Grow geometrically (capped at the context) so appending one token is amortized O(1).
      const size_t cap = static_cast<size_t>(n_ctx_) * row_bytes_;
      const size_t grown = std::min(cap, std::max(need, s.k[l].size() * 2));
      s.k[l].resize(grown);
      s.v[l].resize(grown);
    }
  }
  return Status();
}

void KvCache::commit(int seq, int64_t n_new) {
  if (!has_sequence(seq)) return;
  seqs_[static_cast<size_t>(seq)].length += n_new;
}

uint8_t* KvCache::row(int seq, int64_t layer, int64_t pos, bool is_v) {
  Sequence& s = seqs_[static_cast<size_t>(seq)];
  auto& buf = is_v ? s.v[static_cast<size_t>(layer)] : s.k[static_cast<size_t>(layer)];
  return buf.data() + static_cast<size_t>(pos) * row_bytes_;
}

uint64_t KvCache::bytes_used() const {
  uint64_t n = 0;
  for (const auto& s : seqs_) {
    if (s.live) n += static_cast<uint64_t>(s.length) * bytes_per_position();
  }
  return n;
}

uint64_t KvCache::bytes_reserved() const {
  uint64_t n = 0;
  for (const auto& s : seqs_) {
    for (const auto& l : s.k) n += l.capacity();
    for (const auto& l : s.v) n += l.capacity();
  }
  return n;
}

}  // namespace quire::engine
