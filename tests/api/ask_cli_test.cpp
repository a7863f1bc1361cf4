// `quire ask` end to end through the command line on a small folder of text files: an
// extractive answer citing the right file, a decline for what the files never mention, the
// JSON fields, a generated answer on a tiny random decoder, and every documented error with
// its exit code.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_reader.h"
#include "tests/support/model_gen.h"
#include "tests/support/test_support.h"

namespace quire {
namespace {

using nlohmann::json;

test::CommandResult quire(std::vector<std::string> args) {
  args.insert(args.begin(), test::quire_binary());
  return test::run_command(args);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Three short "papers" on unrelated subjects, each several sentences long.
class AskCli : public ::testing::Test {
 protected:
  void SetUp() override {
    docs_ = dir_.file("docs");
    std::filesystem::create_directories(docs_);
    write_text(docs_ + "/optimizer.txt",
               "Training setup.\n\nWe train every model with the AdamW optimizer and a weight "
               "decay of 0.1. The learning rate warmup lasts 2000 steps, after which a cosine "
               "schedule decays the rate to ten percent of its peak value. Gradients are "
               "clipped to a global norm of 1.0 throughout training.\n");
    write_text(docs_ + "/tokenizer.txt",
               "Tokenization.\n\nThe tokenizer is a byte-level BPE with a vocabulary of 50257 "
               "tokens. Numbers are split into single digits so that arithmetic generalizes "
               "better. Whitespace runs are kept as separate tokens in source code.\n");
    write_text(docs_ + "/hardware.txt",
               "Hardware.\n\nThe largest model was trained on 512 accelerator chips for "
               "57 days in a single data center. Checkpoints were written every three hours "
               "to remote storage, and a failed chip was replaced within the hour.\n");
    db_ = dir_.file("db");
    auto r = quire({"index", docs_, "--db", db_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  test::TempDir dir_;
  std::string docs_, db_;
};

TEST_F(AskCli, ExtractiveAnswerCitesTheRightFileAndSaysItsMode) {
  auto r = quire({"ask", "How many steps does the learning rate warmup last?", "--db", db_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("extractive mode"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("2000 steps"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Sources:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("optimizer.txt"), std::string::npos) << r.out;

  auto j =
      quire({"ask", "How many steps does the learning rate warmup last?", "--db", db_, "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const json a = json::parse(j.out);
  EXPECT_EQ(a["mode"], "extractive");
  ASSERT_FALSE(a["citations"].empty());
  const json& c = a["citations"][0];
  EXPECT_TRUE(c["path"].get<std::string>().ends_with("optimizer.txt")) << c;
  for (const char* key : {"n", "doc_id", "path", "title", "page_start", "page_end", "chunk_ids",
                          "char_start", "char_end", "snippet", "score", "support"}) {
    EXPECT_TRUE(c.contains(key)) << key;
  }
  EXPECT_LT(c["char_start"].get<int64_t>(), c["char_end"].get<int64_t>());
  EXPECT_NE(c["snippet"].get<std::string>().find("2000 steps"), std::string::npos) << c;
  // The answer's [n] are the citations' numbers, and each names a packed source.
  std::string mark(1, '[');
  mark.append(std::to_string(c["n"].get<int>())).append("]");
  EXPECT_NE(a["answer"].get<std::string>().find(mark), std::string::npos);
  EXPECT_GE(a["sources"].size(), a["citations"].size());
  for (const char* key : {"retrieve_s", "pack_s", "total_s"}) {
    EXPECT_GE(a["timings"][key].get<double>(), 0) << key;
  }
}

TEST_F(AskCli, DeclinesWhatTheFilesNeverMentionAndListsTheClosestSources) {
  auto r = quire({"ask", "How does the Kubernetes scheduler place pods on nodes?", "--db", db_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("do not answer"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Kubernetes"), std::string::npos) << r.out;
  auto j = quire(
      {"ask", "How does the Kubernetes scheduler place pods on nodes?", "--db", db_, "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const json a = json::parse(j.out);
  EXPECT_EQ(a["mode"], "declined");
  EXPECT_TRUE(a["citations"].empty());
  // --no-decline answers anyway, from the closest sources.
  auto forced = quire({"ask", "How does the Kubernetes scheduler place pods on nodes?", "--db", db_,
                       "--json", "--no-decline"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(json::parse(forced.out)["mode"], "declined");
}

TEST_F(AskCli, ClearErrorsWithExitCodes) {
  // Empty question: invalid argument (2).
  auto empty = quire({"ask", "   ", "--db", db_});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_NE(empty.err.find("question is empty"), std::string::npos) << empty.err;
  // No index: not found (3).
  auto none = quire({"ask", "What is the vocabulary size?", "--db", dir_.file("nothing")});
  EXPECT_EQ(none.exit_code, 3);
  EXPECT_NE(none.err.find("no index"), std::string::npos) << none.err;
  // A budget smaller than one source: resource exhausted (5), naming both numbers.
  auto budget =
      quire({"ask", "What is the vocabulary size of the tokenizer?", "--db", db_, "--budget", "3"});
  EXPECT_EQ(budget.exit_code, 5) << budget.err;
  EXPECT_NE(budget.err.find("budget"), std::string::npos) << budget.err;
  // Bad option values: invalid argument.
  EXPECT_EQ(quire({"ask", "q?", "--db", db_, "--k", "0"}).exit_code, 2);
  EXPECT_EQ(quire({"ask", "q?", "--db", db_, "--mode", "fuzzy"}).exit_code, 2);
  EXPECT_EQ(quire({"ask", "q?", "--db", db_, "--temp", "-1"}).exit_code, 2);
}

TEST_F(AskCli, EmbeddingModelErrors) {
  QUIRE_REQUIRE_SHARED();
  // An index built with one embedding model refuses another.
  const std::string bert = test::shared_dir() + "/conformance/models/bert-tiny-f32.gguf";
  const std::string other = dir_.file("other-bert.gguf");
  auto bert_vocab = engine::gguf::GgufFile::open(test::shared_dir() +
                                                 "/conformance/vocab/ggml-vocab-bert-bge.gguf");
  ASSERT_TRUE(bert_vocab.ok());
  ASSERT_TRUE(
      test::write_random_bert(other, test::minilm_l6_shape(engine::GgmlType::F32), *bert_vocab)
          .ok());
  const std::string dense_db = dir_.file("dense-db");
  auto built = quire({"index", docs_, "--db", dense_db, "--embed-model", bert});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  auto hybrid = quire({"ask", "What is the vocabulary size?", "--db", dense_db, "--json"});
  ASSERT_EQ(hybrid.exit_code, 0) << hybrid.err;
  EXPECT_EQ(json::parse(hybrid.out)["search_mode"], "hybrid");
  auto mismatch =
      quire({"ask", "What is the vocabulary size?", "--db", dense_db, "--embed-model", other});
  EXPECT_EQ(mismatch.exit_code, 4) << mismatch.err;
  EXPECT_NE(mismatch.err.find("embedding model"), std::string::npos) << mismatch.err;
  // An encoder given as the generation model: unimplemented (8), saying what it is.
  auto encoder = quire({"ask", "What is the vocabulary size?", "--db", db_, "--llm", bert});
  EXPECT_EQ(encoder.exit_code, 8) << encoder.err;
  EXPECT_NE(encoder.err.find("bert"), std::string::npos) << encoder.err;
  // A file that is not GGUF at all.
  const std::string junk = dir_.file("junk.gguf");
  write_text(junk, "not a model");
  auto bad = quire({"ask", "What is the vocabulary size?", "--db", db_, "--llm", junk});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("junk.gguf"), std::string::npos) << bad.err;
}

TEST_F(AskCli, RerankModelRescoresAndWrongModelsAreRefused) {
  QUIRE_REQUIRE_SHARED();
  const std::string reranker = test::shared_dir() + "/conformance/rerank/reranker-tiny-f32.gguf";
  auto r = quire({"ask", "How many steps does the learning rate warmup last?", "--db", db_,
                  "--rerank-model", reranker, "--json", "--no-decline"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json a = json::parse(r.out);
  EXPECT_EQ(a["mode"], "extractive");
  EXPECT_GT(a["timings"]["rerank_s"].get<double>(), 0);
  EXPECT_FALSE(a["citations"].empty());
  // An embedding model given as the reranker, and a reranker given as the embedding model.
  const std::string bert = test::shared_dir() + "/conformance/models/bert-tiny-f32.gguf";
  auto wrong = quire({"ask", "What is the vocabulary size?", "--db", db_, "--rerank-model", bert});
  EXPECT_EQ(wrong.exit_code, 4) << wrong.err;
  EXPECT_NE(wrong.err.find("not a reranker"), std::string::npos) << wrong.err;
  auto swapped = quire({"index", docs_, "--db", dir_.file("swapped"), "--embed-model", reranker});
  EXPECT_EQ(swapped.exit_code, 4) << swapped.err;
  EXPECT_NE(swapped.err.find("reranker"), std::string::npos) << swapped.err;
}

TEST_F(AskCli, GeneratesWithATinyDecoderAndRefusesAQuestionLongerThanTheContext) {
  QUIRE_REQUIRE_SHARED();
  auto vocab =
      engine::gguf::GgufFile::open(test::shared_dir() + "/conformance/models/llama-tiny-f32.gguf");
  ASSERT_TRUE(vocab.ok());
  const std::string llm = dir_.file("tiny-llama.gguf");
  ASSERT_TRUE(test::write_random_decoder(llm, test::tiny_decoder_shape("llama"), *vocab, 3).ok());
  auto r = quire({"ask", "How many steps does the learning rate warmup last?", "--db", db_, "--llm",
                  llm, "--n-predict", "12", "--chat-template", "chatml", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json a = json::parse(r.out);
  ASSERT_EQ(a["mode"], "generative") << a.dump(1);
  EXPECT_GT(a["prompt_tokens"].get<int64_t>(), 50);
  EXPECT_GE(a["generated_tokens"].get<int64_t>(), 1);
  EXPECT_LE(a["generated_tokens"].get<int64_t>(), 12);
  EXPECT_TRUE(a["invalid_citations"].empty());  // the citation guard is on by default
  // Streaming prints the generated text, then the sources; --verbose adds timings.
  auto s = quire({"ask", "How many steps does the learning rate warmup last?", "--db", db_, "--llm",
                  llm, "--n-predict", "12", "--chat-template", "chatml", "--verbose"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.out.rfind(a["answer"].get<std::string>(), 0), 0u) << s.out;
  for (const char* line : {"prompt eval:", "eval:", "retrieve:", "pack:"}) {
    EXPECT_NE(s.err.find(line), std::string::npos) << line << "\n" << s.err;
  }
  // A question longer than the context: resource exhausted (5).
  std::string long_question = "How many steps does the warmup last";
  for (int i = 0; i < 200; ++i) long_question += " and the learning rate schedule";
  long_question += "?";
  auto too_long = quire({"ask", long_question, "--db", db_, "--llm", llm, "--ctx", "256",
                         "--no-decline", "--chat-template", "chatml"});
  EXPECT_EQ(too_long.exit_code, 5) << too_long.err;
  EXPECT_NE(too_long.err.find("context"), std::string::npos) << too_long.err;
}

}  // namespace
}  // namespace quire
