#include "engine/arch/registry.h"

#include <array>

#include "engine/arch/decoder.h"
#include "engine/gguf/gguf_reader.h"

namespace quire::engine {

Result<std::unique_ptr<Embedder>> open_bert_embedder(std::unique_ptr<gguf::GgufFile> file,
                                                     const std::string& path,
                                                     const EmbedderOptions& options);

namespace {

const std::array<ArchEntry, 4> kArchs = {{
    {"bert", ArchKind::kEncoder, open_bert_embedder, nullptr},
    {"llama", ArchKind::kDecoder, nullptr, &kLlamaTraits},
    {"qwen2", ArchKind::kDecoder, nullptr, &kQwen2Traits},
    {"qwen3", ArchKind::kDecoder, nullptr, &kQwen3Traits},
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

Result<std::unique_ptr<Embedder>> open_embedder(const std::string& path,
                                                const EmbedderOptions& options) {
  QUIRE_ASSIGN_OR_RETURN(gguf::GgufFile parsed, gguf::GgufFile::open(path));
  auto file = std::make_unique<gguf::GgufFile>(std::move(parsed));
  const std::string arch = file->architecture();
  const ArchEntry* entry = find_arch(arch);
  if (entry == nullptr || entry->kind != ArchKind::kEncoder || entry->open_embedder == nullptr) {
    return unimplemented_error("'" + path + "': architecture '" + arch +
                               "' is not an embedding model quire supports (supported: " +
                               arch_names(ArchKind::kEncoder) + ")");
  }
  return entry->open_embedder(std::move(file), path, options);
}

}  // namespace quire::engine
