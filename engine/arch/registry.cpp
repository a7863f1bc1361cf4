#include "engine/arch/registry.h"

#include <array>

#include "engine/arch/decoder.h"

namespace quire::engine {

namespace {

const std::array<ArchEntry, 4> kArchs = {{
    {"bert", ArchKind::kEncoder, nullptr},
    {"llama", ArchKind::kDecoder, &kLlamaTraits},
    {"qwen2", ArchKind::kDecoder, &kQwen2Traits},
    {"qwen3", ArchKind::kDecoder, &kQwen3Traits},
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
    if (a.kind != kind) continue;
    if (!out.empty()) out += ", ";
    out += a.name;
  }
  return out;
}

}  // namespace quire::engine
