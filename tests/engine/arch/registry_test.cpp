// The architecture registry: every architecture quire knows, whether it runs it and with which
// graph; and that the runtime refuses the known ones it does not run, as it refuses unknown ones.
#include "engine/arch/registry.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/arch/decoder.h"
#include "engine/gguf/gguf_names.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/runtime/embedder.h"
#include "engine/runtime/generator.h"
#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

struct Expected {
  std::string_view name;
  ArchKind kind;
  bool runs;
  const DecoderTraits* decoder;
};

TEST(ArchRegistryTest, EveryEntry) {
  const std::vector<Expected> expected = {
      {"bert", ArchKind::kEncoder, true, nullptr},
      {"nomic-bert", ArchKind::kEncoder, false, nullptr},
      {"jina-bert-v2", ArchKind::kEncoder, false, nullptr},
      {"t5encoder", ArchKind::kEncoder, false, nullptr},
      {"llama", ArchKind::kDecoder, true, &kLlamaTraits},
      {"qwen2", ArchKind::kDecoder, true, &kQwen2Traits},
      {"qwen3", ArchKind::kDecoder, true, &kQwen3Traits},
  };
  ASSERT_EQ(arch_registry().size(), expected.size());
  for (const Expected& e : expected) {
    const ArchEntry* entry = find_arch(e.name);
    ASSERT_NE(entry, nullptr) << e.name;
    EXPECT_EQ(entry->name, e.name);
    EXPECT_EQ(entry->kind, e.kind) << e.name;
    EXPECT_EQ(entry->runs, e.runs) << e.name;
    EXPECT_EQ(entry->decoder, e.decoder) << e.name;
    // A decoder quire runs has its graph's switches, named after it.
    if (e.kind == ArchKind::kDecoder && e.runs) {
      ASSERT_NE(entry->decoder, nullptr);
      EXPECT_EQ(entry->decoder->arch, e.name);
    }
  }
  EXPECT_EQ(find_arch("gpt-neox"), nullptr);
  EXPECT_EQ(find_arch(""), nullptr);
}

TEST(ArchRegistryTest, NamesListOnlyWhatQuireRuns) {
  EXPECT_EQ(arch_names(ArchKind::kEncoder), "bert");
  EXPECT_EQ(arch_names(ArchKind::kDecoder), "llama, qwen2, qwen3");
}

// A file with only general.architecture: the architecture check comes before anything else.
std::string write_arch_only(const test::TempDir& dir, const std::string& arch) {
  gguf::GgufWriter w;
  w.set(gguf::kKvGeneralArchitecture, arch);
  const std::string path = dir.file(arch + ".gguf");
  EXPECT_TRUE(w.write_file(path).ok());
  return path;
}

TEST(ArchRegistryTest, KnownEncodersQuireDoesNotRunAreRefused) {
  test::TempDir dir;
  for (const std::string arch : {"nomic-bert", "jina-bert-v2", "t5encoder", "gpt-neox"}) {
    const std::string path = write_arch_only(dir, arch);
    auto embedder = open_embedder(path);
    ASSERT_FALSE(embedder.ok()) << arch;
    EXPECT_EQ(embedder.status().code(), StatusCode::kUnimplemented) << arch;
    EXPECT_NE(embedder.status().message().find("architecture '" + arch +
                                               "' is not an embedding model quire supports "
                                               "(supported: bert)"),
              std::string::npos)
        << embedder.status().message();

    auto lm = LanguageModel::open(path);
    ASSERT_FALSE(lm.ok()) << arch;
    EXPECT_EQ(lm.status().code(), StatusCode::kUnimplemented) << arch;
    EXPECT_NE(lm.status().message().find("has an architecture quire does not run ('" + arch +
                                         "'; generation supports: llama, qwen2, qwen3)"),
              std::string::npos)
        << lm.status().message();
  }
}

}  // namespace
}  // namespace quire::engine
