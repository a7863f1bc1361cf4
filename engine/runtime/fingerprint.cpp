#include "engine/runtime/fingerprint.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "engine/core/log.h"

namespace quire::engine {
namespace {

std::string to_hex(const unsigned char* digest, unsigned int n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

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

std::string sha256_hex(const void* data, size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data, size, digest, &n, EVP_sha256(), nullptr);
  return to_hex(digest, n);
}

std::string hash_tensor_data(const gguf::GgufFile& file) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  for (const auto& t : file.tensors()) EVP_DigestUpdate(ctx.get(), t.data, t.n_bytes);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &n);
  return to_hex(digest, n);
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
