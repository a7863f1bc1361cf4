// The architecture registry: which GGUF `general.architecture` values quire runs, and how.
// Adding an architecture is one file under arch/ plus an entry here.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace quire::engine {
struct DecoderTraits;
}

namespace quire::engine {

enum class ArchKind { kEncoder, kDecoder };

struct ArchEntry {
  std::string_view name;
  ArchKind kind;
  // Decoders: the switches of the generic llama-family graph (arch/decoder.h).
  const DecoderTraits* decoder = nullptr;
};

std::span<const ArchEntry> arch_registry();
const ArchEntry* find_arch(std::string_view name);  // nullptr when unknown
// "bert, llama, ..." for messages.
std::string arch_names(ArchKind kind);

}  // namespace quire::engine
