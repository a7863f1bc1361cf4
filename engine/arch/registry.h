// The architecture registry: which GGUF `general.architecture` values quire runs, and how.
// Adding an architecture is one file under arch/ plus an entry here.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "engine/core/status.h"
#include "engine/gguf/gguf_reader.h"
#include "engine/runtime/embedder.h"

namespace quire::engine {
struct DecoderTraits;
}

namespace quire::engine {

enum class ArchKind { kEncoder, kDecoder };

struct ArchEntry {
  std::string_view name;
  ArchKind kind;
  // Encoders: makes an Embedder of a parsed file (`path` names it in messages and the cache).
  Result<std::unique_ptr<Embedder>> (*open_embedder)(std::unique_ptr<gguf::GgufFile> file,
                                                     const std::string& path,
                                                     const EmbedderOptions& options);
  // Decoders: the switches of the generic llama-family graph (arch/decoder.h).
  const DecoderTraits* decoder = nullptr;
};

std::span<const ArchEntry> arch_registry();
const ArchEntry* find_arch(std::string_view name);  // nullptr when unknown
// "bert, llama, ..." for messages.
std::string arch_names(ArchKind kind);

}  // namespace quire::engine
