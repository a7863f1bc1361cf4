#include "engine/gguf/gguf_reader.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <utility>

#include "engine/gguf/gguf_names.h"

namespace quire::engine::gguf {
namespace {

// The fewest bytes a record can occupy, used to bound counts before reserving memory.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;              // key length, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // name length, n_dims, type, offset

uint64_t min_element_bytes(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return 8;  // length prefix
    case ValueType::kArray:
      return 4 + 8;  // element type + count
    default:
      return value_type_size(type);
  }
}

std::string hex(uint64_t x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, x);
  return buf;
}

}  // namespace

std::string TensorInfo::shape_string() const {
  std::string out = "[";
  for (uint32_t i = 0; i < n_dims; ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(ne[i]);
  }
  return out + "]";
}

// Reads the file front to back. Each read checks the bytes left first; on failure the first
// error is kept in status_ (with the offset and the current context) and parsing stops.
class GgufParser {
 public:
  GgufParser(std::span<const uint8_t> bytes, const std::string& source)
      : bytes_(bytes), source_(source) {}

  Status parse(GgufFile& out);

 private:
  uint64_t left() const { return bytes_.size() - pos_; }

  bool fail(StatusCode code, uint64_t offset, const std::string& message) {
    std::string text =
        "'" + source_ + "': offset " + std::to_string(offset) + " (" + hex(offset) + "): ";
    if (!context_.empty()) text += context_ + ": ";
    status_ = Status(code, text + message);
    return false;
  }
  bool corrupt(const std::string& message) { return fail(StatusCode::kDataLoss, pos_, message); }
  bool corrupt_at(uint64_t offset, const std::string& message) {
    return fail(StatusCode::kDataLoss, offset, message);
  }

  bool need(uint64_t n, const char* what) {
    if (n > left()) {
      return corrupt(std::string(what) + " needs " + std::to_string(n) +
                     " bytes but the file has " + std::to_string(left()) + " left (truncated?)");
    }
    return true;
  }

  template <typename T>
  bool read(T& out, const char* what) {
    if (!need(sizeof(T), what)) return false;
    std::memcpy(&out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  bool read_string(std::string& out, const char* what) {
    const uint64_t at = pos_;
    uint64_t length = 0;
    if (!read(length, what)) return false;
    if (length > left()) {
      return corrupt_at(at, std::string(what) + " length " + std::to_string(length) +
                                " runs past the end of the file (" + std::to_string(left()) +
                                " bytes left)");
    }
    out.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), static_cast<size_t>(length));
    pos_ += length;
    return true;
  }

  bool read_value_type(ValueType& out, const char* what) {
    const uint64_t at = pos_;
    uint32_t id = 0;
    if (!read(id, what)) return false;
    auto type = value_type_from_id(id);
    if (!type) {
      return corrupt_at(
          at, "unknown " + std::string(what) + " " + std::to_string(id) + " (expected 0..12)");
    }
    out = *type;
    return true;
  }

  bool read_value(ValueType type, Value& out, int depth);
  bool read_array(Array& out, int depth);
  bool read_header(GgufFile& out, uint64_t& n_tensors, uint64_t& n_kv);
  bool read_metadata(GgufFile& out, uint64_t n_kv);
  bool read_tensor_infos(GgufFile& out, uint64_t n_tensors);
  bool place_tensors(GgufFile& out);

  std::span<const uint8_t> bytes_;
  const std::string& source_;
  uint64_t pos_ = 0;
  std::string context_;
  Status status_;
};

bool GgufParser::read_value(ValueType type, Value& out, int depth) {
  switch (type) {
    case ValueType::kUint8: {
      uint8_t x;
      if (!read(x, "u8 value")) return false;
      out.v = x;
      return true;
    }
    case ValueType::kInt8: {
      int8_t x;
      if (!read(x, "i8 value")) return false;
      out.v = x;
      return true;
    }
    case ValueType::kUint16: {
      uint16_t x;
      if (!read(x, "u16 value")) return false;
      out.v = x;
      return true;
    }
    case ValueType::kInt16: {
      int16_t x;
      if (!read(x, "i16 value")) return false;
      out.v = x;
      return true;
    }
    case ValueType::kUint32: {
      uint32_t x;
      if (!read(x, "u32 value")) return false;
      out.v = x;
      return true;
    }
    case ValueType::kInt32: {
      int32_t x;
      if (!read(x, "i32 value")) return false;
      out.v = x;
      return true;
    }
    case ValueType::kFloat32: {
      float x;
      if (!read(x, "f32 value")) return false;
      out.v = x;
      return true;
    }
    case ValueType::kUint64: {
      uint64_t x;
      if (!read(x, "u64 value")) return false;
      out.v = x;
      return true;
    }
    case ValueType::kInt64: {
      int64_t x;
      if (!read(x, "i64 value")) return false;
      out.v = x;
      return true;
    }
    case ValueType::kFloat64: {
      double x;
      if (!read(x, "f64 value")) return false;
      out.v = x;
      return true;
    }
    case ValueType::kBool: {
      uint8_t x;
      if (!read(x, "bool value")) return false;
      out.v = x != 0;
      return true;
    }
    case ValueType::kString: {
      std::string s;
      if (!read_string(s, "string value")) return false;
      out.v = std::move(s);
      return true;
    }
    case ValueType::kArray: {
      Array a;
      if (!read_array(a, depth + 1)) return false;
      out.v = std::move(a);
      return true;
    }
  }
  return corrupt("unknown value type");
}

bool GgufParser::read_array(Array& out, int depth) {
  const uint64_t at = pos_;
  if (depth > kMaxArrayDepth) {
    return corrupt_at(at,
                      "arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
  }
  if (!read_value_type(out.elem_type, "array element type")) return false;
  uint64_t count = 0;
  if (!read(count, "array length")) return false;
  const uint64_t min_bytes = min_element_bytes(out.elem_type);
  if (count > left() / min_bytes) {
    return corrupt_at(at, "array of " + std::to_string(count) + " " +
                              std::string(value_type_name(out.elem_type)) +
                              " runs past the end of the file (" + std::to_string(left()) +
                              " bytes left)");
  }
  switch (out.elem_type) {
    case ValueType::kString:
      out.strings.resize(count);
      for (uint64_t i = 0; i < count; ++i) {
        if (!read_string(out.strings[i], "array string")) return false;
      }
      return true;
    case ValueType::kArray:
      // Grown as elements parse rather than sized from the count: each level's count is only
      // bounded by the bytes left, and pre-sizing nested levels would multiply that bound.
      for (uint64_t i = 0; i < count; ++i) {
        out.arrays.emplace_back();
        if (!read_array(out.arrays.back(), depth + 1)) return false;
      }
      return true;
    default: {
      const uint64_t n = count * min_bytes;  // cannot overflow: bounded by left()
      out.raw.assign(bytes_.data() + pos_, bytes_.data() + pos_ + n);
      if (out.elem_type == ValueType::kBool) {
        for (auto& b : out.raw) b = b != 0 ? 1 : 0;
      }
      pos_ += n;
      return true;
    }
  }
}

bool GgufParser::read_header(GgufFile& out, uint64_t& n_tensors, uint64_t& n_kv) {
  uint32_t magic = 0;
  if (!read(magic, "magic")) return false;
  if (magic != kMagic) {
    return corrupt_at(0,
                      "not a GGUF file (magic " + hex(magic) + ", expected 0x46554747 \"GGUF\")");
  }
  const uint64_t version_at = pos_;
  if (!read(out.version_, "version")) return false;
  if (out.version_ == 1) {
    return fail(StatusCode::kUnimplemented, version_at,
                "GGUF version 1 (32-bit counts) is not supported; re-convert the model with a "
                "current llama.cpp");
  }
  if ((out.version_ & 0xFFFF) == 0 && out.version_ != 0) {
    return fail(StatusCode::kUnimplemented, version_at,
                "version " + std::to_string(out.version_) +
                    " looks like a big-endian GGUF; only little-endian files are supported");
  }
  if (out.version_ != 2 && out.version_ != 3) {
    return fail(
        StatusCode::kUnimplemented, version_at,
        "GGUF version " + std::to_string(out.version_) + " is not supported (expected 2 or 3)");
  }
  const uint64_t n_tensors_at = pos_;
  if (!read(n_tensors, "tensor count")) return false;
  const uint64_t n_kv_at = pos_;
  if (!read(n_kv, "metadata count")) return false;
  if (n_tensors > left() / kMinTensorInfoBytes) {
    return corrupt_at(n_tensors_at, "tensor count " + std::to_string(n_tensors) +
                                        " cannot fit in the " + std::to_string(left()) +
                                        " bytes left");
  }
  if (n_kv > left() / kMinKvBytes) {
    return corrupt_at(n_kv_at, "metadata count " + std::to_string(n_kv) + " cannot fit in the " +
                                   std::to_string(left()) + " bytes left");
  }
  return true;
}

bool GgufParser::read_metadata(GgufFile& out, uint64_t n_kv) {
  out.metadata_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    KeyValue kv;
    kv.file_offset = pos_;
    context_ = "metadata entry " + std::to_string(i);
    if (!read_string(kv.key, "key")) return false;
    context_ = "metadata key '" + kv.key + "'";
    if (out.key_index_.count(kv.key) != 0) return corrupt_at(kv.file_offset, "duplicate key");
    ValueType type;
    if (!read_value_type(type, "value type")) return false;
    if (!read_value(type, kv.value, 0)) return false;
    out.key_index_.emplace(kv.key, out.metadata_.size());
    out.metadata_.push_back(std::move(kv));
  }
  context_.clear();

  auto it = out.key_index_.find(std::string(kKvGeneralAlignment));
  if (it != out.key_index_.end()) {
    const KeyValue& kv = out.metadata_[it->second];
    context_ = "metadata key '" + std::string(kKvGeneralAlignment) + "'";
    const uint32_t* alignment = std::get_if<uint32_t>(&kv.value.v);
    if (alignment == nullptr) {
      return corrupt_at(kv.file_offset, "type " + std::string(value_type_name(kv.value.type())) +
                                            ", expected UINT32");
    }
    if (*alignment == 0 || (*alignment & (*alignment - 1)) != 0) {
      return corrupt_at(kv.file_offset,
                        "alignment " + std::to_string(*alignment) + " is not a power of two");
    }
    out.alignment_ = *alignment;
    context_.clear();
  }
  return true;
}

bool GgufParser::read_tensor_infos(GgufFile& out, uint64_t n_tensors) {
  out.tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo t;
    t.info_offset = pos_;
    context_ = "tensor " + std::to_string(i);
    if (!read_string(t.name, "tensor name")) return false;
    context_ = "tensor '" + t.name + "'";
    if (out.tensor_index_.count(t.name) != 0)
      return corrupt_at(t.info_offset, "duplicate tensor name");
    const uint64_t dims_at = pos_;
    if (!read(t.n_dims, "n_dims")) return false;
    if (t.n_dims > kMaxDims) {
      return corrupt_at(dims_at, "n_dims " + std::to_string(t.n_dims) + ", expected at most " +
                                     std::to_string(kMaxDims));
    }
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      const uint64_t ne_at = pos_;
      uint64_t ne = 0;
      if (!read(ne, "dimension")) return false;
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return corrupt_at(ne_at, "dimension " + std::to_string(d) + " is " + std::to_string(ne) +
                                     ", larger than INT64_MAX");
      }
      t.ne[d] = static_cast<int64_t>(ne);
    }
    const uint64_t type_at = pos_;
    uint32_t type_id = 0;
    if (!read(type_id, "tensor type")) return false;
    auto info = ggml_type_info(type_id);
    if (!info) {
      return corrupt_at(type_at, "unknown tensor type " + std::to_string(type_id));
    }
    t.type = info->type;
    const uint64_t offset_at = pos_;
    if (!read(t.offset, "tensor data offset")) return false;

    // Element count and byte size, with every product checked for overflow.
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < kMaxDims; ++d) {
      if (__builtin_mul_overflow(n_elements, static_cast<uint64_t>(t.ne[d]), &n_elements) ||
          n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return corrupt_at(dims_at,
                          "shape " + t.shape_string() + " has more than INT64_MAX elements");
      }
    }
    if (t.ne[0] % info->block_size != 0) {
      return corrupt_at(dims_at, "row length " + std::to_string(t.ne[0]) +
                                     " is not a multiple of " + std::to_string(info->block_size) +
                                     " (block size of " + std::string(info->name) + ")");
    }
    uint64_t n_bytes = static_cast<uint64_t>(t.ne[0]) / info->block_size * info->type_size;
    for (uint32_t d = 1; d < kMaxDims; ++d) {
      if (__builtin_mul_overflow(n_bytes, static_cast<uint64_t>(t.ne[d]), &n_bytes)) {
        return corrupt_at(dims_at, "byte size of shape " + t.shape_string() + " overflows");
      }
    }
    t.n_elements = n_elements;
    t.n_bytes = n_bytes;
    if (t.offset % out.alignment_ != 0) {
      return corrupt_at(offset_at, "data offset " + std::to_string(t.offset) +
                                       " is not a multiple of the alignment " +
                                       std::to_string(out.alignment_));
    }
    out.tensor_index_.emplace(t.name, out.tensors_.size());
    out.tensors_.push_back(std::move(t));
  }
  context_.clear();
  return true;
}

bool GgufParser::place_tensors(GgufFile& out) {
  // The data section starts at the next multiple of the alignment after the tensor infos.
  uint64_t data_offset = (pos_ + out.alignment_ - 1) / out.alignment_ * out.alignment_;
  if (out.tensors_.empty()) {
    out.data_offset_ = data_offset;  // may lie past the end: nothing is read there
    return true;
  }
  if (data_offset > bytes_.size()) {
    return corrupt_at(pos_, "tensor data section starts at " + std::to_string(data_offset) +
                                ", past the end of the file (" + std::to_string(bytes_.size()) +
                                " bytes)");
  }
  out.data_offset_ = data_offset;
  const uint64_t data_size = bytes_.size() - data_offset;
  for (auto& t : out.tensors_) {
    if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
      context_ = "tensor '" + t.name + "'";
      return corrupt_at(t.info_offset, "data [" + std::to_string(data_offset + t.offset) + ", +" +
                                           std::to_string(t.n_bytes) +
                                           ") runs past the end of the file (" +
                                           std::to_string(bytes_.size()) + " bytes)");
    }
    t.file_offset = data_offset + t.offset;
    t.data = bytes_.data() + t.file_offset;
  }
  // No two tensors may share bytes. Empty tensors share none and are left out of the walk, so
  // one cannot sit between two overlapping tensors and hide the overlap.
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(out.tensors_.size());
  for (const auto& t : out.tensors_) {
    if (t.n_bytes > 0) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo* prev = by_offset[i - 1];
    const TensorInfo* cur = by_offset[i];
    if (cur->offset < prev->offset + prev->n_bytes) {
      context_ = "tensor '" + cur->name + "'";
      return corrupt_at(cur->info_offset, "data at " + std::to_string(cur->file_offset) +
                                              " overlaps tensor '" + prev->name + "' [" +
                                              std::to_string(prev->file_offset) + ", +" +
                                              std::to_string(prev->n_bytes) + ")");
    }
  }
  context_.clear();
  return true;
}

Status GgufParser::parse(GgufFile& out) {
  uint64_t n_tensors = 0, n_kv = 0;
  if (read_header(out, n_tensors, n_kv) && read_metadata(out, n_kv) &&
      read_tensor_infos(out, n_tensors) && place_tensors(out)) {
    return ok_status();
  }
  return status_;
}

Result<GgufFile> GgufFile::parse(std::span<const uint8_t> bytes, std::string source_name) {
  GgufFile file;
  file.bytes_ = bytes;
  file.source_ = std::move(source_name);
  GgufParser parser(bytes, file.source_);
  QUIRE_RETURN_IF_ERROR(parser.parse(file));
  return file;
}

Result<GgufFile> GgufFile::open(const std::string& path) {
  QUIRE_ASSIGN_OR_RETURN(MappedFile mapping, MappedFile::open(path));
  std::span<const uint8_t> bytes = mapping.bytes();
  QUIRE_ASSIGN_OR_RETURN(GgufFile file, parse(bytes, path));
  file.mapping_.emplace(std::move(mapping));  // the mapped address does not move
  return file;
}

const Value* GgufFile::find(std::string_view key) const {
  auto it = key_index_.find(std::string(key));
  return it == key_index_.end() ? nullptr : &metadata_[it->second].value;
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::optional<uint64_t> GgufFile::get_uint(std::string_view key) const {
  const Value* v = find(key);
  return v != nullptr ? v->as_uint() : std::nullopt;
}

std::optional<double> GgufFile::get_double(std::string_view key) const {
  const Value* v = find(key);
  return v != nullptr ? v->as_double() : std::nullopt;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const Value* v = find(key);
  return v != nullptr ? v->as_bool() : std::nullopt;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr || v->as_string() == nullptr) return std::nullopt;
  return *v->as_string();
}

const Array* GgufFile::get_array(std::string_view key) const {
  const Value* v = find(key);
  return v != nullptr ? v->as_array() : nullptr;
}

std::string GgufFile::architecture() const {
  return get_string(kKvGeneralArchitecture).value_or("");
}

}  // namespace quire::engine::gguf
