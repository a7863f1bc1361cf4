// The workspace: config.json keys, the flag > environment > file > default order, errors.
#include "api/workspace.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace quire::api {
namespace {

namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Clears the model variables for the test's duration, restoring nothing: tests run as separate
// processes under ctest, and none of them sets these.
class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"QUIRE_EMBED_MODEL", "QUIRE_LLM", "QUIRE_RERANK_MODEL"}) ::unsetenv(v);
  }
  test::TempDir dir_;
  WorkspaceFlags flags() const {
    WorkspaceFlags f;
    f.dir = dir_.path();
    return f;
  }
};

TEST_F(WorkspaceTest, DefaultsWithoutAConfigFile) {
  auto w = Workspace::load(flags());
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(w->dir(), dir_.path());
  EXPECT_EQ(w->db_path(), dir_.path() + "/quire.db");
  EXPECT_FALSE(w->index_exists());
  EXPECT_EQ(w->config().chunk_tokens, 256);
  EXPECT_EQ(w->config().chunk_overlap, 32);
  EXPECT_EQ(w->config().index_kind, "flat");
  EXPECT_TRUE(w->config().embed_model.empty());
  EXPECT_TRUE(w->config().roots.empty());
}

TEST_F(WorkspaceTest, FileThenEnvironmentThenFlags) {
  write_text(dir_.file("config.json"),
             R"({"embed_model": "/m/e.gguf", "llm": "/m/l.gguf", "rerank_model": "/m/r.gguf",
                 "chunk_tokens": 512, "chunk_overlap": 64, "index": "hnsw",
                 "roots": ["/papers", "/notes"], "future_key": {"x": 1}})");
  auto file = Workspace::load(flags());
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->config().embed_model, "/m/e.gguf");
  EXPECT_EQ(file->config().llm, "/m/l.gguf");
  EXPECT_EQ(file->config().rerank_model, "/m/r.gguf");
  EXPECT_EQ(file->config().chunk_tokens, 512);
  EXPECT_EQ(file->config().chunk_overlap, 64);
  EXPECT_EQ(file->config().index_kind, "hnsw");
  EXPECT_EQ(file->config().roots, (std::vector<std::string>{"/papers", "/notes"}));

  ::setenv("QUIRE_LLM", "/env/l.gguf", 1);
  ::setenv("QUIRE_EMBED_MODEL", "", 1);  // empty: not set
  auto env = Workspace::load(flags());
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->config().llm, "/env/l.gguf");
  EXPECT_EQ(env->config().embed_model, "/m/e.gguf");

  WorkspaceFlags f = flags();
  f.llm = "/flag/l.gguf";
  f.embed_model = "/flag/e.gguf";
  f.chunk_tokens = 128;
  f.chunk_overlap = 16;
  f.index_kind = "flat";
  auto flagged = Workspace::load(f);
  ASSERT_TRUE(flagged.ok()) << flagged.status().message();
  EXPECT_EQ(flagged->config().llm, "/flag/l.gguf");
  EXPECT_EQ(flagged->config().embed_model, "/flag/e.gguf");
  EXPECT_EQ(flagged->config().chunk_tokens, 128);
  EXPECT_EQ(flagged->config().chunk_overlap, 16);
  EXPECT_EQ(flagged->config().index_kind, "flat");
  ::unsetenv("QUIRE_LLM");
}

TEST_F(WorkspaceTest, BadFilesAndValuesAreNamed) {
  struct Case {
    std::string text;
    StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"{not json", StatusCode::kDataLoss, "is not a JSON object"},
      {"[1, 2]", StatusCode::kDataLoss, "is not a JSON object"},
      {R"({"embed_model": 3})", StatusCode::kDataLoss, "\"embed_model\" must be a string"},
      {R"({"chunk_tokens": "big"})", StatusCode::kDataLoss, "\"chunk_tokens\" must be an integer"},
      {R"({"roots": "/papers"})", StatusCode::kDataLoss, "\"roots\" must be an array"},
      {R"({"roots": [1]})", StatusCode::kDataLoss, "\"roots\" must hold strings"},
      {R"({"index": "ivf"})", StatusCode::kInvalidArgument,
       "\"index\": 'ivf', expected flat or hnsw"},
      {R"({"chunk_tokens": 8})", StatusCode::kInvalidArgument,
       "\"chunk_tokens\": expected 16..8192"},
      {R"({"chunk_tokens": 64, "chunk_overlap": 64})", StatusCode::kInvalidArgument,
       "\"chunk_overlap\" must be at least 0 and smaller"},
  };
  for (const Case& c : cases) {
    write_text(dir_.file("config.json"), c.text);
    auto w = Workspace::load(flags());
    ASSERT_FALSE(w.ok()) << c.text;
    EXPECT_EQ(w.status().code(), c.code) << c.text;
    EXPECT_NE(w.status().message().find(c.message), std::string::npos)
        << c.text << " -> " << w.status().message();
    EXPECT_NE(w.status().message().find("config.json"), std::string::npos) << c.text;
  }
  fs::remove(dir_.file("config.json"));
  WorkspaceFlags f = flags();
  f.index_kind = "ivf";
  EXPECT_NE(Workspace::load(f).status().message().find("--index: 'ivf'"), std::string::npos);
  f = flags();
  f.chunk_tokens = 9000;
  EXPECT_NE(Workspace::load(f).status().message().find("--chunk-tokens: expected 16..8192"),
            std::string::npos);
  f.chunk_tokens = 64;
  f.chunk_overlap = 64;
  EXPECT_NE(Workspace::load(f).status().message().find("--overlap must be smaller"),
            std::string::npos);
}

TEST_F(WorkspaceTest, RememberingTheModelKeepsOtherKeys) {
  write_text(dir_.file("config.json"), R"({"llm": "/m/l.gguf", "future_key": [1, 2]})");
  auto w = Workspace::load(flags());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->remember_embed_model("relative/e.gguf").ok());
  std::ifstream in(dir_.file("config.json"));
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["llm"], "/m/l.gguf");
  EXPECT_EQ(j["future_key"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(j["embed_model"], fs::absolute("relative/e.gguf").lexically_normal().string());
  EXPECT_FALSE(fs::exists(dir_.file("config.json.tmp")));
  // The same model again does not rewrite the file.
  const auto before = fs::last_write_time(dir_.file("config.json"));
  fs::last_write_time(dir_.file("config.json"), before - std::chrono::hours(1));
  const auto backdated = fs::last_write_time(dir_.file("config.json"));
  ASSERT_TRUE(w->remember_embed_model("relative/e.gguf").ok());
  EXPECT_EQ(fs::last_write_time(dir_.file("config.json")), backdated);
  auto again = Workspace::load(flags());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->config().embed_model, j["embed_model"].get<std::string>());
}

TEST_F(WorkspaceTest, OpensAStoreOfTheConfiguredKind) {
  write_text(dir_.file("config.json"), R"({"index": "hnsw"})");
  auto w = Workspace::load(flags());
  ASSERT_TRUE(w.ok());
  auto opened = w->open_index(/*with_embedder=*/true);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_NE(opened->store, nullptr);
  EXPECT_EQ(opened->embedder, nullptr);  // no model configured: BM25 only
  EXPECT_TRUE(w->index_exists());
  WorkspaceFlags f = flags();
  f.embed_model = "/nonexistent/model.gguf";
  auto missing = Workspace::load(f);
  ASSERT_TRUE(missing.ok());
  auto failed = missing->open_index(true);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("/nonexistent/model.gguf"), std::string::npos);
}

}  // namespace
}  // namespace quire::api
