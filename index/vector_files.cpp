#include "index/vector_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string_view>

#include "engine/core/crash_point.h"

namespace quire::index {
namespace {

namespace fs = std::filesystem;

Status fsync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, "opening directory '" + dir + "'");
  Status status;
  if (::fsync(fd) != 0) status = errno_error(errno, "fsync directory '" + dir + "'");
  ::close(fd);
  return status;
}

}  // namespace

std::string vectors_file_name(int64_t generation) {
  return "vectors." + std::to_string(generation) + ".faiss";
}

std::optional<int64_t> vectors_file_generation(const std::string& name) {
  constexpr std::string_view kPrefix = "vectors.";
  constexpr std::string_view kSuffix = ".faiss";
  if (name.size() <= kPrefix.size() + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  std::string digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  if (digits.empty() || digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(digits);
}

bool is_temp_vectors_file(const std::string& name) {
  return name.starts_with("vectors.") && name.find(".tmp.") != std::string::npos;
}

std::vector<std::string> other_vectors_files(const std::string& dir, int64_t keep) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::optional<int64_t> generation = vectors_file_generation(name);
    if (generation.has_value() && *generation != keep) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status remove_other_vectors_files(const std::string& dir, int64_t keep) {
  for (const std::string& old : other_vectors_files(dir, keep)) {
    std::error_code ec;
    fs::remove(dir + "/" + old, ec);
    if (ec) return errno_error(ec.value(), "removing '" + dir + "/" + old + "'");
  }
  return ok_status();
}

Result<std::vector<std::string>> remove_temp_vectors_files(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!is_temp_vectors_file(name)) continue;
    std::error_code remove_ec;
    fs::remove(entry.path(), remove_ec);
    if (remove_ec) {
      return errno_error(remove_ec.value(), "removing temporary file '" + dir + "/" + name + "'");
    }
    removed.push_back(name);
  }
  if (ec) return errno_error(ec.value(), "listing '" + dir + "'");
  std::sort(removed.begin(), removed.end());
  return removed;
}

Status write_vectors_file(const std::string& dir, int64_t generation, const VectorIndex& vectors) {
  const std::string path = dir + "/" + vectors_file_name(generation);
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  Status status = vectors.save(temp);
  if (!status.ok()) {
    std::error_code ec;
    fs::remove(temp, ec);
    return status;
  }
  crash_point("vectors-saved");  // tests: killed between the temporary file and the rename
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Status rename_status = errno_error(errno, "renaming '" + temp + "' to '" + path + "'");
    std::error_code ec;
    fs::remove(temp, ec);
    return rename_status;
  }
  return fsync_directory(dir);
}

}  // namespace quire::index
