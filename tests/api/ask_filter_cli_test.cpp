// `quire ask` end to end: --filter-doc / --filter-path reach sources, citations and the decline
// decision; --mmr is validated; --verbose and --json report the per-stage timings.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace quire {
namespace {

using nlohmann::json;

test::CommandResult quire(std::vector<std::string> args) {
  args.insert(args.begin(), test::quire_binary());
  return test::run_command(args);
}

std::vector<uint8_t> bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

// Two notes on rank fusion (only cormack.txt names Cormack) and filler, indexed into db/, with
// or without an embedding model.
class AskCliTest : public ::testing::Test {
 protected:
  void index(const std::vector<std::string>& extra = {}) {
    std::filesystem::create_directories(tmp_.file("docs/notes"));
    for (int i = 0; i < 20; ++i) {
      test::write_file(tmp_.file("docs/f" + std::to_string(i) + ".txt"),
                       bytes("Filler page " + std::to_string(i) + " about gardens and trains."));
    }
    test::write_file(tmp_.file("docs/cormack.txt"),
                     bytes("Reciprocal rank fusion combines ranked lists by summing inverse "
                           "ranks. Cormack proposed reciprocal rank fusion in 2009."));
    test::write_file(tmp_.file("docs/notes/other.md"),
                     bytes("Reciprocal rank fusion merges dense and sparse rankings. The fusion "
                           "constant of sixty damps the top ranks."));
    std::vector<std::string> args = {"index", tmp_.file("docs"), "--db", db()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = quire(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto list = quire({"docs", "list", "--db", db(), "--json"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    for (const auto& d : json::parse(list.out)) {
      const std::string path = d["path"];
      if (path.ends_with("cormack.txt")) cormack_ = d["id"];
      if (path.ends_with("other.md")) other_ = d["id"];
    }
    ASSERT_GT(cormack_, 0);
    ASSERT_GT(other_, 0);
  }

  json ask_json(std::vector<std::string> args) {
    args.insert(args.begin(), {"ask", "--db", db(), "--min-score", "0.5", "--json"});
    auto r = quire(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return json::object();
    return json::parse(r.out);
  }

  std::string db() const { return tmp_.file("db"); }

  test::TempDir tmp_;
  int64_t cormack_ = 0, other_ = 0;
};

TEST_F(AskCliTest, FiltersReachSourcesCitationsAndDecline) {
  index();
  const std::string question = "What did Cormack propose?";
  json all = ask_json({question});
  ASSERT_EQ(all["mode"], "extractive");
  ASSERT_FALSE(all["citations"].empty());
  EXPECT_EQ(all["citations"][0]["doc_id"], cormack_);

  // Only other.md: it never names Cormack, so the documents do not answer.
  json by_id = ask_json({question, "--filter-doc", std::to_string(other_)});
  EXPECT_EQ(by_id["mode"], "declined");
  EXPECT_NE(by_id["decline_reason"].get<std::string>().find("never mention 'Cormack'"),
            std::string::npos);
  for (const auto& s : by_id["sources"]) EXPECT_EQ(s["doc_id"], other_);

  // Repeated flags: either document, by id; by path glob the notes folder only.
  const std::string fusion = "How does reciprocal rank fusion combine lists?";
  json both = ask_json(
      {fusion, "--filter-doc", std::to_string(other_), "--filter-doc", std::to_string(cormack_)});
  ASSERT_EQ(both["mode"], "extractive");
  for (const auto& s : both["sources"]) {
    EXPECT_TRUE(s["doc_id"] == other_ || s["doc_id"] == cormack_) << s.dump();
  }
  json notes = ask_json({fusion, "--filter-path", "**/notes/*.md", "--mmr", "0.5"});
  ASSERT_EQ(notes["mode"], "extractive");
  ASSERT_FALSE(notes["sources"].empty());
  for (const auto& s : notes["sources"]) EXPECT_EQ(s["doc_id"], other_);
  for (const auto& c : notes["citations"]) EXPECT_EQ(c["doc_id"], other_);
  for (const char* key : {"embed_s", "dense_s", "bm25_s", "fusion_s", "rerank_s", "mmr_s",
                          "retrieve_s", "pack_s", "prefill_s", "decode_s", "total_s"}) {
    ASSERT_TRUE(notes["timings"].contains(key)) << key;
    EXPECT_GE(notes["timings"][key].get<double>(), 0) << key;
  }
  EXPECT_GT(notes["timings"]["bm25_s"].get<double>(), 0);
  EXPECT_GT(notes["timings"]["mmr_s"].get<double>(), 0);
}

TEST_F(AskCliTest, BadValuesAreUsageErrors) {
  index();
  for (const char* bad : {"1.5", "-0.2", "x"}) {
    auto r = quire({"ask", "q", "--db", db(), "--mmr", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("--mmr: '"), std::string::npos) << r.err;
  }
  EXPECT_NE(quire({"ask", "q", "--db", db(), "--mmr", "7"}).err.find("outside [0, 1]"),
            std::string::npos);
  auto doc = quire({"ask", "q", "--db", db(), "--filter-doc", "first"});
  EXPECT_EQ(doc.exit_code, 2);
  EXPECT_NE(doc.err.find("--filter-doc: 'first' is not a document id"), std::string::npos)
      << doc.err;
  auto glob = quire({"ask", "q", "--db", db(), "--filter-path", ""});
  EXPECT_EQ(glob.exit_code, 2);
  EXPECT_NE(glob.err.find("--filter-path"), std::string::npos) << glob.err;
}

TEST_F(AskCliTest, HybridVerbosePrintsEveryStage) {
  QUIRE_REQUIRE_SHARED();
  index({"--embed-model", test::shared_dir() + "/conformance/models/bert-tiny-f32.gguf"});
  auto r = quire({"ask", "How does reciprocal rank fusion combine lists?", "--db", db(),
                  "--min-score", "0.5", "--mmr", "0.7", "--verbose"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* line : {"(retrieval hybrid)", "embed:", "retrieve:", "dense ", "bm25 ",
                           "fusion ", "mmr ", "pack:", "prompt eval:", "eval:", "total:"}) {
    EXPECT_NE(r.err.find(line), std::string::npos) << line << "\n" << r.err;
  }
  json j = ask_json(
      {"How does reciprocal rank fusion combine lists?", "--filter-doc", std::to_string(other_)});
  ASSERT_EQ(j["search_mode"], "hybrid");
  EXPECT_GT(j["timings"]["embed_s"].get<double>(), 0);
  EXPECT_GT(j["timings"]["dense_s"].get<double>(), 0);
  EXPECT_EQ(j["timings"]["embed_cached"], false);
  for (const auto& s : j["sources"]) EXPECT_EQ(s["doc_id"], other_);
}

}  // namespace
}  // namespace quire
