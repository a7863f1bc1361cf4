#include "engine/arch/registry.h"

#include <array>

#include "engine/arch/decoder.h"

namespace quire::engine {

namespace {

const std::array<ArchEntry, 7> kArchs = {{
    // name, kind, runs, decoder graph
    {"bert", ArchKind::kEncoder, true, nullptr},
    {"nomic-bert", ArchKind::kEncoder, false, nullptr},
    {"jina-bert-v2", ArchKind::kEncoder, false, nullptr},
    {"t5encoder", ArchKind::kEncoder, false, nullptr},
    {"llama", ArchKind::kDecoder, true, &kLlamaTraits},
    {"qwen2", ArchKind::kDecoder, true, &kQwen2Traits},
    {"qwen3", ArchKind::kDecoder, true, &kQwen3Traits},
}};

}  // namespace

std::span<const ArchEntry> arch_registry() {
  return kArchs;
}

const ArchEntry* find_arch(std::string_view name) {
  for (const auto& a : kArchs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string arch_names(ArchKind kind) {
  std::string out;
  for (const auto& a : kArchs) {
    if (a.kind != kind || !a.runs) continue;
    if (!out.empty()) out += ", ";
    out += a.name;
  }
  return out;
}

}  // namespace quire::engine
