// GGUF reader (versions 2 and 3), memory-mapped.
//
// Every count, length, dimension, offset and byte size read from the file is treated as hostile:
// it is checked against the bytes left in the file and against integer overflow before anything
// is allocated or read, so a corrupt or malicious file yields a kDataLoss (corrupt) or
// kUnimplemented (valid but unsupported) error naming the key or tensor and the file offset, never
// a crash and never an allocation larger than a small multiple of the file size.
//
// A GgufFile is immutable after parsing and safe to read from many threads. Tensor data pointers
// point into the mapping (or the caller's buffer for parse()), valid while the GgufFile lives.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/core/mmap_file.h"
#include "engine/core/status.h"
#include "engine/gguf/gguf_value.h"
#include "engine/quant/ggml_type.h"

namespace quire::engine::gguf {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr uint32_t kMaxDims = 4;
inline constexpr int kMaxArrayDepth = 8;  // nested arrays deeper than this are refused

struct KeyValue {
  std::string key;
  Value value;
  uint64_t file_offset = 0;  // where the key's record starts
};

struct TensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  uint32_t n_dims = 0;
  std::array<int64_t, kMaxDims> ne = {1, 1, 1, 1};  // ne[0] is the contiguous dimension
  uint64_t offset = 0;       // relative to the start of the tensor data section
  uint64_t file_offset = 0;  // absolute: data_offset() + offset
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  uint64_t info_offset = 0;  // where the tensor's info record starts (for messages)
  const uint8_t* data = nullptr;

  // "[256, 8192]"
  std::string shape_string() const;
};

class GgufFile {
 public:
  // Maps and parses a file. The error message starts with the path.
  static Result<GgufFile> open(const std::string& path);

  // Parses bytes the caller owns and keeps alive for the GgufFile's lifetime (tests, fuzzing).
  static Result<GgufFile> parse(std::span<const uint8_t> bytes, std::string source_name);

  GgufFile(GgufFile&&) noexcept = default;
  GgufFile& operator=(GgufFile&&) noexcept = default;

  const std::string& source() const { return source_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the tensor data section
  uint64_t file_size() const { return bytes_.size(); }
  std::span<const uint8_t> bytes() const { return bytes_; }

  const std::vector<KeyValue>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;

  // Typed lookups: nullopt when the key is absent or of an incompatible type.
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<double> get_double(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  const Array* get_array(std::string_view key) const;

  // general.architecture, or "" when absent.
  std::string architecture() const;

 private:
  GgufFile() = default;
  friend class GgufParser;

  std::optional<MappedFile> mapping_;
  std::span<const uint8_t> bytes_;
  std::string source_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> metadata_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> key_index_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace quire::engine::gguf
