// A model's identity for the index: sha256 over its tensor data (not the metadata, so a renamed
// or re-annotated file with the same weights keeps its fingerprint).
#pragma once

#include <string>

#include "engine/core/status.h"
#include "engine/gguf/gguf_reader.h"

namespace quire::engine {

// Lower-case hex sha256 of every tensor's bytes in file order.
std::string hash_tensor_data(const gguf::GgufFile& file);

// hash_tensor_data(), cached per (absolute path, size, mtime) in the cache directory
// ($QUIRE_CACHE_DIR, else $XDG_CACHE_HOME/quire, else ~/.cache/quire) so re-opening a large model
// is instant. A cache that cannot be read or written only costs the recomputation.
Result<std::string> model_fingerprint(const gguf::GgufFile& file, const std::string& path);

}  // namespace quire::engine
