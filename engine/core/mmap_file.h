// Read-only memory-mapped file.
//
// Weights are mapped, never copied: a MappedFile owns the mapping and unmaps it when destroyed.
// Move-only. The bytes are immutable and may be read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "engine/core/status.h"

namespace quire {

class MappedFile {
 public:
  // Maps the whole file read-only. Errors: kNotFound (missing), kFailedPrecondition (a
  // directory, no permission), kInternal (mmap failure). An empty file maps to size() == 0.
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

  // Hints that [offset, offset+length) will be read soon (madvise WILLNEED). Best effort.
  void prefetch(size_t offset, size_t length) const;

 private:
  void reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace quire
