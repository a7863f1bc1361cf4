#include "engine/gguf/gguf_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "engine/gguf/gguf_names.h"
#include "engine/gguf/gguf_reader.h"

namespace quire::engine::gguf {
namespace detail {

// Where serialized bytes go: memory or a file descriptor.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  uint64_t written() const { return written_; }

  Status write(const void* data, size_t n) {
    QUIRE_RETURN_IF_ERROR(write_impl(data, n));
    written_ += n;
    return ok_status();
  }
  template <typename T>
  Status put(T x) {
    return write(&x, sizeof(T));
  }
  Status put_string(const std::string& s) {
    QUIRE_RETURN_IF_ERROR(put<uint64_t>(s.size()));
    return write(s.data(), s.size());
  }
  Status pad_to(uint64_t alignment) {
    static const uint8_t kZeros[256] = {};
    uint64_t pad = (alignment - written_ % alignment) % alignment;
    while (pad > 0) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(pad, sizeof(kZeros)));
      QUIRE_RETURN_IF_ERROR(write(kZeros, n));
      pad -= n;
    }
    return ok_status();
  }

 protected:
  virtual Status write_impl(const void* data, size_t n) = 0;

 private:
  uint64_t written_ = 0;
};

}  // namespace detail

namespace {

class VectorSink final : public detail::ByteSink {
 public:
  std::vector<uint8_t> bytes;

 protected:
  Status write_impl(const void* data, size_t n) override {
    const auto* p = static_cast<const uint8_t*>(data);
    bytes.insert(bytes.end(), p, p + n);
    return ok_status();
  }
};

// Buffered writes to a file descriptor; large writes go straight through.
class FdSink final : public detail::ByteSink {
 public:
  FdSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) { buffer_.reserve(kBuffer); }

  Status flush() {
    QUIRE_RETURN_IF_ERROR(write_all(buffer_.data(), buffer_.size()));
    buffer_.clear();
    return ok_status();
  }

 protected:
  Status write_impl(const void* data, size_t n) override {
    const auto* p = static_cast<const uint8_t*>(data);
    if (buffer_.size() + n > kBuffer) QUIRE_RETURN_IF_ERROR(flush());
    if (n >= kBuffer) return write_all(p, n);
    buffer_.insert(buffer_.end(), p, p + n);
    return ok_status();
  }

 private:
  Status write_all(const uint8_t* p, size_t left) {
    while (left > 0) {
      ssize_t w = ::write(fd_, p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno_error(errno, "cannot write '" + path_ + "'");
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
    return ok_status();
  }

  static constexpr size_t kBuffer = 1 << 20;
  int fd_;
  std::string path_;
  std::vector<uint8_t> buffer_;
};

Status write_value(detail::ByteSink& sink, const Value& value);

Status write_array_body(detail::ByteSink& sink, const Array& a) {
  QUIRE_RETURN_IF_ERROR(sink.put<uint32_t>(static_cast<uint32_t>(a.elem_type)));
  QUIRE_RETURN_IF_ERROR(sink.put<uint64_t>(a.size()));
  switch (a.elem_type) {
    case ValueType::kString:
      for (const auto& s : a.strings) QUIRE_RETURN_IF_ERROR(sink.put_string(s));
      return ok_status();
    case ValueType::kArray:
      for (const auto& inner : a.arrays) QUIRE_RETURN_IF_ERROR(write_array_body(sink, inner));
      return ok_status();
    default:
      return sink.write(a.raw.data(), a.raw.size());
  }
}

// The value's bytes without its type id.
Status write_value(detail::ByteSink& sink, const Value& value) {
  return std::visit(
      [&](const auto& x) -> Status {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return sink.put_string(x);
        } else if constexpr (std::is_same_v<T, Array>) {
          return write_array_body(sink, x);
        } else if constexpr (std::is_same_v<T, bool>) {
          return sink.put<uint8_t>(x ? 1 : 0);
        } else {
          return sink.put<T>(x);
        }
      },
      value.v);
}

Status check_array(const Array& a, int depth) {
  if (depth > kMaxArrayDepth) {
    return invalid_argument_error("arrays nested deeper than " + std::to_string(kMaxArrayDepth));
  }
  if (a.elem_type != ValueType::kString && !a.strings.empty()) {
    return invalid_argument_error("array of " + std::string(value_type_name(a.elem_type)) +
                                  " holds strings");
  }
  if (a.elem_type != ValueType::kArray && !a.arrays.empty()) {
    return invalid_argument_error("array of " + std::string(value_type_name(a.elem_type)) +
                                  " holds arrays");
  }
  const size_t elem = value_type_size(a.elem_type);
  if (elem == 0 ? !a.raw.empty() : a.raw.size() % elem != 0) {
    return invalid_argument_error("array of " + std::string(value_type_name(a.elem_type)) +
                                  " has " + std::to_string(a.raw.size()) + " raw bytes");
  }
  for (const auto& inner : a.arrays) QUIRE_RETURN_IF_ERROR(check_array(inner, depth + 1));
  return ok_status();
}

}  // namespace

void GgufWriter::set(std::string_view key, Value value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::string(key), std::move(value));
}

bool GgufWriter::remove(std::string_view key) {
  auto it = std::find_if(metadata_.begin(), metadata_.end(),
                         [&](const auto& kv) { return kv.first == key; });
  if (it == metadata_.end()) return false;
  metadata_.erase(it);
  return true;
}

const Value* GgufWriter::find(std::string_view key) const {
  for (const auto& [k, v] : metadata_) {
    if (k == key) return &v;
  }
  return nullptr;
}

Result<uint64_t> GgufWriter::check_tensor(const std::string& name, GgmlType type,
                                          const std::vector<int64_t>& ne) const {
  const std::string what = "tensor '" + name + "'";
  if (name.empty()) return invalid_argument_error("tensor name is empty");
  if (name.size() > kMaxTensorNameBytes) {
    return invalid_argument_error(what + ": name is " + std::to_string(name.size()) +
                                  " bytes, llama.cpp accepts at most " +
                                  std::to_string(kMaxTensorNameBytes));
  }
  for (const auto& t : tensors_) {
    if (t.name == name) return invalid_argument_error(what + ": duplicate name");
  }
  if (ne.empty() || ne.size() > kMaxDims) {
    return invalid_argument_error(what + ": " + std::to_string(ne.size()) +
                                  " dimensions, expected 1..4");
  }
  for (int64_t d : ne) {
    if (d < 0) return invalid_argument_error(what + ": negative dimension");
  }
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (ne[0] % info.block_size != 0) {
    return invalid_argument_error(what + ": row length " + std::to_string(ne[0]) +
                                  " is not a multiple of " + std::to_string(info.block_size) +
                                  " (block size of " + std::string(info.name) + ")");
  }
  uint64_t n_bytes = static_cast<uint64_t>(ne[0]) / info.block_size * info.type_size;
  for (size_t d = 1; d < ne.size(); ++d) {
    if (__builtin_mul_overflow(n_bytes, static_cast<uint64_t>(ne[d]), &n_bytes)) {
      return invalid_argument_error(what + ": byte size overflows");
    }
  }
  return n_bytes;
}

Status GgufWriter::add_tensor_view(const std::string& name, GgmlType type,
                                   const std::vector<int64_t>& ne, std::span<const uint8_t> data) {
  QUIRE_ASSIGN_OR_RETURN(uint64_t n_bytes, check_tensor(name, type, ne));
  if (data.size() != n_bytes) {
    return invalid_argument_error("tensor '" + name + "': " + std::to_string(data.size()) +
                                  " bytes of data, " + std::string(ggml_type_name(type)) +
                                  " shape needs " + std::to_string(n_bytes));
  }
  tensors_.push_back(PendingTensor{name, type, ne, {}, data, n_bytes, {}});
  return ok_status();
}

Status GgufWriter::add_tensor_generated(const std::string& name, GgmlType type,
                                        const std::vector<int64_t>& ne, TensorFiller fill) {
  QUIRE_ASSIGN_OR_RETURN(uint64_t n_bytes, check_tensor(name, type, ne));
  tensors_.push_back(PendingTensor{name, type, ne, {}, {}, n_bytes, std::move(fill)});
  return ok_status();
}

Status GgufWriter::add_tensor(const std::string& name, GgmlType type,
                              const std::vector<int64_t>& ne, std::vector<uint8_t> data) {
  QUIRE_RETURN_IF_ERROR(add_tensor_view(name, type, ne, data));
  PendingTensor& t = tensors_.back();
  t.owned = std::move(data);  // moving a vector keeps its buffer, so the view stays valid
  t.data = t.owned;
  return ok_status();
}

uint32_t GgufWriter::alignment() const {
  const Value* v = find(kKvGeneralAlignment);
  if (v != nullptr) {
    if (const uint32_t* a = std::get_if<uint32_t>(&v->v)) return *a;
  }
  return kDefaultAlignment;
}

Status GgufWriter::write_to(detail::ByteSink& sink) const {
  if (version_ != 2 && version_ != 3) {
    return invalid_argument_error("GGUF version " + std::to_string(version_) + ", expected 2 or 3");
  }
  const uint32_t align = alignment();
  if (align == 0 || (align & (align - 1)) != 0) {
    return invalid_argument_error(std::string(kKvGeneralAlignment) + " " + std::to_string(align) +
                                  " is not a power of two");
  }
  for (const auto& [key, value] : metadata_) {
    if (const Array* a = value.as_array()) {
      QUIRE_RETURN_IF_ERROR(check_array(*a, 1).with_context("metadata key '" + key + "'"));
    }
  }

  QUIRE_RETURN_IF_ERROR(sink.put<uint32_t>(kMagic));
  QUIRE_RETURN_IF_ERROR(sink.put<uint32_t>(version_));
  QUIRE_RETURN_IF_ERROR(sink.put<uint64_t>(tensors_.size()));
  QUIRE_RETURN_IF_ERROR(sink.put<uint64_t>(metadata_.size()));
  for (const auto& [key, value] : metadata_) {
    QUIRE_RETURN_IF_ERROR(sink.put_string(key));
    QUIRE_RETURN_IF_ERROR(sink.put<uint32_t>(static_cast<uint32_t>(value.type())));
    QUIRE_RETURN_IF_ERROR(write_value(sink, value));
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    QUIRE_RETURN_IF_ERROR(sink.put_string(t.name));
    QUIRE_RETURN_IF_ERROR(sink.put<uint32_t>(static_cast<uint32_t>(t.ne.size())));
    for (int64_t n : t.ne) QUIRE_RETURN_IF_ERROR(sink.put<uint64_t>(static_cast<uint64_t>(n)));
    QUIRE_RETURN_IF_ERROR(sink.put<uint32_t>(static_cast<uint32_t>(t.type)));
    QUIRE_RETURN_IF_ERROR(sink.put<uint64_t>(offset));
    offset += (t.n_bytes + align - 1) / align * align;
  }
  QUIRE_RETURN_IF_ERROR(sink.pad_to(align));
  std::vector<uint8_t> generated;
  for (const auto& t : tensors_) {
    if (t.fill) {
      generated.assign(t.n_bytes, 0);
      QUIRE_RETURN_IF_ERROR(t.fill(generated).with_context("tensor '" + t.name + "'"));
      QUIRE_RETURN_IF_ERROR(sink.write(generated.data(), generated.size()));
    } else {
      QUIRE_RETURN_IF_ERROR(sink.write(t.data.data(), t.data.size()));
    }
    QUIRE_RETURN_IF_ERROR(sink.pad_to(align));
  }
  return ok_status();
}

Result<std::vector<uint8_t>> GgufWriter::to_bytes() const {
  VectorSink sink;
  QUIRE_RETURN_IF_ERROR(write_to(sink));
  return std::move(sink.bytes);
}

Status GgufWriter::write_file(const std::string& path) const {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error(errno, "cannot create '" + tmp + "'");
  FdSink sink(fd, tmp);
  Status status = write_to(sink);
  if (status.ok()) status = sink.flush();
  if (status.ok() && ::fsync(fd) != 0) status = errno_error(errno, "cannot fsync '" + tmp + "'");
  if (::close(fd) != 0 && status.ok()) status = errno_error(errno, "cannot close '" + tmp + "'");
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = errno_error(errno, "cannot rename '" + tmp + "' to '" + path + "'");
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

}  // namespace quire::engine::gguf
