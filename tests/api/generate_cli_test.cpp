// `quire generate` end to end on the conformance decoders: the golden greedy continuation through
// the command line, streaming equals the JSON text, chat templates, timings, clear errors.
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace quire {
namespace {

std::string model(const std::string& name) {
  return test::shared_dir() + "/conformance/models/" + name;
}

TEST(GenerateCliTest, GreedyContinuationEqualsLlamaCppGolden) {
  QUIRE_REQUIRE_SHARED();
  std::ifstream in(test::shared_dir() + "/conformance/golden/llama-tiny-q4_k_m/generation.json");
  const nlohmann::json golden = nlohmann::json::parse(in)["prompts"][0];
  auto r =
      test::run_command({test::quire_binary(), "generate", "--model",
                         model("llama-tiny-q4_k_m.gguf"), "-p", golden["text"].get<std::string>(),
                         "-n", "32", "--temp", "0", "--ignore-eos", "--threads", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["token_ids"], golden["generated_ids"]);
  EXPECT_EQ(j["prompt_tokens"], golden["n_prompt"]);
  EXPECT_EQ(j["generated_tokens"], 32);
  EXPECT_EQ(j["finish_reason"], "length");
  for (const char* key : {"prefill_s", "prefill_tok_s", "decode_s", "decode_tok_s"}) {
    EXPECT_GT(j[key].get<double>(), 0) << key;
  }

  // Streaming prints the same text; --verbose adds Ollama-style timings on stderr.
  auto s = test::run_command(
      {test::quire_binary(), "generate", "--model", model("llama-tiny-q4_k_m.gguf"), "-p",
       golden["text"].get<std::string>(), "-n", "32", "--temp", "0", "--ignore-eos", "--verbose"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.out, j["text"].get<std::string>() + "\n");
  for (const char* line : {"prompt eval count:    17 token(s)", "prompt eval rate:",
                           "eval count:           32 token(s)", "eval rate:", "KV cache"}) {
    EXPECT_NE(s.err.find(line), std::string::npos) << line << "\n" << s.err;
  }
}

TEST(GenerateCliTest, SeededSamplingIsReproducibleAndQ8KvCacheRuns) {
  QUIRE_REQUIRE_SHARED();
  std::vector<std::string> args = {test::quire_binary(),
                                   "generate",
                                   "--model",
                                   model("qwen2-tiny-q8_0.gguf"),
                                   "-p",
                                   "Once upon a time",
                                   "-n",
                                   "24",
                                   "--seed",
                                   "7",
                                   "--temp",
                                   "1.0",
                                   "--json",
                                   "--ignore-eos"};
  auto a = test::run_command(args);
  auto b = test::run_command(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(nlohmann::json::parse(a.out)["token_ids"], nlohmann::json::parse(b.out)["token_ids"]);
  args[9] = "8";
  auto c = test::run_command(args);
  EXPECT_NE(nlohmann::json::parse(a.out)["token_ids"], nlohmann::json::parse(c.out)["token_ids"]);
  args.push_back("--kv-type");
  args.push_back("q8_0");
  auto q = test::run_command(args);
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(nlohmann::json::parse(q.out)["kv_type"], "q8_0");
}

TEST(GenerateCliTest, ChatTemplateByName) {
  QUIRE_REQUIRE_SHARED();
  auto r =
      test::run_command({test::quire_binary(), "generate", "--model", model("qwen2-tiny-f32.gguf"),
                         "-p", "Hello!", "--chat", "--chat-template", "chatml", "--system",
                         "Be brief.", "-n", "8", "--temp", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  // "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n
  // <|im_start|>assistant\n": the special texts are single tokens only when parsed as special,
  // which the truncated test vocabulary lacks, so only check that it grew past the raw prompt.
  EXPECT_GT(j["prompt_tokens"].get<int>(), 10);
}

TEST(GenerateCliTest, ClearErrors) {
  QUIRE_REQUIRE_SHARED();
  const std::string llama = model("llama-tiny-q8_0.gguf");
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"-p", "x", "-n", "0", "--model", llama}, 2, "nothing to generate"},
      {{"-p", "x", "-n", "-2", "--model", llama}, 2, "nothing to generate"},
      {{"--model", llama}, 2, "--prompt"},
      {{"-p", "x"}, 2, "--model is required"},
      {{"-p", "one two three four five six seven eight nine ten", "--ctx", "8", "--model", llama},
       5,
       "context holds 8"},
      {{"-p", "x", "--chat", "--model", llama}, 4, "no chat template"},
      {{"-p", "x", "--chat-template", "no-such-style", "--model", llama}, 2, "no-such-style"},
      {{"-p", "x", "--model", model("bert-tiny-f32.gguf")}, 8, "embedding model"},
      {{"-p", "x", "--model", "/nonexistent.gguf"}, 3, "nonexistent"},
      {{"-p", "x", "--kv-type", "q4_0", "--model", llama}, 2, "q4_0"},
      {{"-p", "x", "--temp", "-1", "--model", llama}, 2, "temperature"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {test::quire_binary(), "generate"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = test::run_command(argv);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.message << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace quire
