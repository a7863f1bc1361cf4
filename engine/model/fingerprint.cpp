#include "engine/model/fingerprint.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/core/log.h"
#include "engine/core/sha256.h"

namespace quire::engine {
namespace {

std::string cache_dir() {
  if (const char* d = std::getenv("QUIRE_CACHE_DIR"); d != nullptr && *d != '\0') return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d != nullptr && *d != '\0') {
    return std::string(d) + "/quire";
  }
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    return std::string(h) + "/.cache/quire";
  }
  return "";
}

}  // namespace

std::string hash_tensor_data(const gguf::GgufFile& file) {
  Sha256 digest;
  for (const auto& t : file.tensors()) digest.update(t.data, t.n_bytes);
  return digest.finish_hex();
}

Result<std::string> model_fingerprint(const gguf::GgufFile& file, const std::string& path) {
  std::error_code ec;
  const std::string abs = std::filesystem::absolute(path, ec).string();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return hash_tensor_data(file);
  const std::string key = abs + "\t" + std::to_string(st.st_size) + "\t" +
                          std::to_string(static_cast<long long>(st.st_mtim.tv_sec)) + "." +
                          std::to_string(st.st_mtim.tv_nsec);
  const std::string dir = cache_dir();
  const std::string cache = dir.empty() ? "" : dir + "/fingerprints.tsv";
  if (!cache.empty()) {
    std::ifstream in(cache);
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() > key.size() + 1 && line.compare(0, key.size(), key) == 0 &&
          line[key.size()] == '\t') {
        return line.substr(key.size() + 1);
      }
    }
  }
  std::string digest = hash_tensor_data(file);
  if (!cache.empty()) {
    std::filesystem::create_directories(dir, ec);
    std::ofstream out(cache, std::ios::app);
    out << key << '\t' << digest << '\n';
    if (!out) QUIRE_LOG_DEBUG("cannot write the fingerprint cache '%s'", cache.c_str());
  }
  return digest;
}

}  // namespace quire::engine
