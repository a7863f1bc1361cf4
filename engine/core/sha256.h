// SHA-256 digests as lower-case hex (OpenSSL's EVP underneath): content hashes of ingested files
// and model fingerprints.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

struct evp_md_ctx_st;

namespace quire {

// sha256 of `size` bytes at `data`, 64 lower-case hex digits.
std::string sha256_hex(const void* data, size_t size);

// Incremental sha256 over several buffers. Not thread-safe; one instance per digest.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  std::string finish_hex();  // the digest of everything updated; the object is spent afterwards

 private:
  evp_md_ctx_st* ctx_;
};

}  // namespace quire
