// The architecture registry: the GGUF `general.architecture` values quire knows, which of them
// it runs, and how. Adding an architecture is one file under arch/ plus an entry here.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace quire::engine {
struct DecoderTraits;
}

namespace quire::engine {

// kEncoder: a bidirectional sentence encoder (no KV cache, `attention.causal` defaults to
// false); kDecoder: a causal text generator.
enum class ArchKind { kEncoder, kDecoder };

struct ArchEntry {
  std::string_view name;
  ArchKind kind;
  // False for architectures llama.cpp defines and quire only describes (`models inspect`):
  // open_embedder and LanguageModel::open refuse them.
  bool runs = false;
  // Decoders quire runs: the switches of the generic llama-family graph (arch/decoder.h).
  // Encoders quire runs all use the BERT graph (arch/bert.h).
  const DecoderTraits* decoder = nullptr;
};

std::span<const ArchEntry> arch_registry();
// The entry of a known architecture, run or not; nullptr when unknown.
const ArchEntry* find_arch(std::string_view name);
// "bert, llama, ..." of the architectures of `kind` quire runs, for messages.
std::string arch_names(ArchKind kind);

}  // namespace quire::engine
