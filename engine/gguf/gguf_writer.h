// GGUF writer (version 3 by default): any metadata and tensors of any type, aligned.
//
// Metadata keys keep insertion order (set() on an existing key replaces its value in place).
// Tensor data is laid out in insertion order, each tensor starting at a multiple of the alignment
// (general.alignment when set as UINT32, else 32) and padded with zeros, as llama.cpp writes it.
// Used by tests to generate tiny models and by `quire quantize`. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/gguf/gguf_value.h"
#include "engine/quant/ggml_type.h"

namespace quire::engine::gguf {

namespace detail {
class ByteSink;
}

// llama.cpp refuses tensor names of 64 bytes or more (GGML_MAX_NAME).
inline constexpr size_t kMaxTensorNameBytes = 63;

class GgufWriter {
 public:
  GgufWriter() = default;

  // 3 (default) or 2; both share one layout.
  void set_version(uint32_t version) { version_ = version; }

  void set(std::string_view key, Value value);
  bool remove(std::string_view key);
  const Value* find(std::string_view key) const;

  // Adds a tensor whose bytes the caller keeps alive until write_file()/to_bytes() returns.
  // Checks the name (non-empty, unique, < 64 bytes), 1..4 dimensions, ne[0] a multiple of the
  // type's block size, and data.size() equal to the tensor's byte size.
  Status add_tensor_view(const std::string& name, GgmlType type, const std::vector<int64_t>& ne,
                         std::span<const uint8_t> data);
  // Same, but the writer keeps its own copy of the bytes.
  Status add_tensor(const std::string& name, GgmlType type, const std::vector<int64_t>& ne,
                    std::vector<uint8_t> data);

  // Fills a tensor's bytes (exactly its byte size) when the file is written, so a whole model
  // never has to sit in memory at once (quire quantize). An error aborts the write.
  using TensorFiller = std::function<Status(std::span<uint8_t> out)>;
  Status add_tensor_generated(const std::string& name, GgmlType type,
                              const std::vector<int64_t>& ne, TensorFiller fill);

  size_t tensor_count() const { return tensors_.size(); }

  // Serializes the whole file into memory.
  Result<std::vector<uint8_t>> to_bytes() const;

  // Writes to `path` through a temporary file in the same directory, fsynced and renamed, so a
  // crash leaves either the old file or the complete new one.
  Status write_file(const std::string& path) const;

 private:
  struct PendingTensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> owned;
    std::span<const uint8_t> data;
    uint64_t n_bytes = 0;
    TensorFiller fill;  // set for generated tensors
  };

  // Validates a new tensor's name and shape; returns its byte size.
  Result<uint64_t> check_tensor(const std::string& name, GgmlType type,
                                const std::vector<int64_t>& ne) const;

  uint32_t alignment() const;
  Status write_to(detail::ByteSink& sink) const;

  uint32_t version_ = 3;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace quire::engine::gguf
