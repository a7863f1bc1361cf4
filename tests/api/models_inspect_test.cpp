// `quire models inspect` end to end: the real binary, real files, exit codes and messages.
#include <cstring>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_writer.h"
#include "tests/support/test_support.h"

namespace quire {
namespace {

using engine::GgmlType;
using engine::gguf::Array;
using engine::gguf::GgufWriter;
using nlohmann::json;

test::CommandResult inspect(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {test::quire_binary(), "models", "inspect"};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_command(argv);
}

// A small qwen2-shaped model with Q8_0 weights, written with our writer.
std::string write_tiny_model(const test::TempDir& dir) {
  GgufWriter w;
  w.set("general.architecture", "qwen2");
  w.set("general.name", "tiny-qwen");
  w.set("general.file_type", uint32_t{7});
  w.set("qwen2.context_length", uint32_t{4096});
  w.set("qwen2.embedding_length", uint32_t{64});
  w.set("qwen2.block_count", uint32_t{1});
  w.set("qwen2.feed_forward_length", uint32_t{128});
  w.set("qwen2.attention.head_count", uint32_t{4});
  w.set("qwen2.attention.head_count_kv", uint32_t{1});
  w.set("tokenizer.ggml.model", "gpt2");
  w.set("tokenizer.ggml.pre", "qwen2");
  w.set("tokenizer.ggml.tokens", Array::of_strings({"a", "b", "c"}));
  w.set("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}");
  EXPECT_TRUE(
      w.add_tensor("token_embd.weight", GgmlType::Q8_0, {64, 3}, std::vector<uint8_t>(3 * 2 * 34))
          .ok());
  EXPECT_TRUE(
      w.add_tensor("output_norm.weight", GgmlType::F32, {64}, std::vector<uint8_t>(256)).ok());
  const std::string path = dir.file("tiny.gguf");
  EXPECT_TRUE(w.write_file(path).ok());
  return path;
}

TEST(ModelsInspectTest, TextReport) {
  test::TempDir dir;
  auto r = inspect({write_tiny_model(dir)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* line :
       {"architecture          qwen2", "name                  tiny-qwen",
        "file type             Q8_0 (7)", "context length        4096", "head count kv         1",
        "tokenizer             BPE (byte-level) (gpt2, pre qwen2)", "chat template         yes",
        "Q8_0", "Memory at n_ctx 4096, KV cache f16", "total"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << "missing '" << line << "' in\n" << r.out;
  }
}

TEST(ModelsInspectTest, JsonMemoryFollowsCtxAndKvType) {
  test::TempDir dir;
  const std::string path = write_tiny_model(dir);
  auto f16 = inspect({path, "--json"});
  ASSERT_EQ(f16.exit_code, 0) << f16.err;
  json a = json::parse(f16.out);
  EXPECT_EQ(a["memory"]["n_ctx"], 4096);
  EXPECT_EQ(a["memory"]["kv_type"], "f16");
  // 1 layer x 4096 x (1 KV head x 16 dims) x K,V x 2 bytes
  EXPECT_EQ(a["memory"]["kv_cache_bytes"], 4096 * 16 * 2 * 2);
  EXPECT_EQ(a["head_count_kv"], 1);
  EXPECT_EQ(a["chat_template"], true);
  EXPECT_EQ(a["tensor_types"]["Q8_0"]["count"], 1);

  auto q8 = inspect({path, "--json", "--ctx", "64", "--kv-type", "q8_0"});
  ASSERT_EQ(q8.exit_code, 0) << q8.err;
  json b = json::parse(q8.out);
  EXPECT_EQ(b["memory"]["n_ctx"], 64);
  EXPECT_EQ(b["memory"]["kv_type"], "q8_0");
  EXPECT_EQ(b["memory"]["kv_cache_bytes"], 64 * 34 * 2);
  EXPECT_EQ(b["memory"]["total_bytes"].get<uint64_t>(),
            b["memory"]["weights_bytes"].get<uint64_t>() +
                b["memory"]["kv_cache_bytes"].get<uint64_t>() +
                b["memory"]["scratch_bytes"].get<uint64_t>());
}

TEST(ModelsInspectTest, UsageErrorsExitWithTwo) {
  test::TempDir dir;
  const std::string path = write_tiny_model(dir);
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {{path, "--kv-type", "q4_0"}, "--kv-type: 'q4_0'"},
      {{path, "--ctx", "-5"}, "--ctx: '-5' is not a non-negative integer"},
      {{path, "--ctx", "0"}, "--ctx: must be at least 1"},
      {{path, "--frobnicate"}, "unknown option '--frobnicate'"},
      {{}, "missing argument FILE.gguf"},
  };
  for (const auto& c : cases) {
    auto r = inspect(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.message;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  auto unknown = test::run_command({test::quire_binary(), "frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos);
  auto sub = test::run_command({test::quire_binary(), "models", "list-everything"});
  EXPECT_EQ(sub.exit_code, 2);
}

TEST(ModelsInspectTest, HelpExitsZero) {
  auto r = inspect({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--kv-type"), std::string::npos);
  auto top = test::run_command({test::quire_binary(), "help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("models inspect"), std::string::npos);
}

TEST(ModelsInspectTest, FileErrors) {
  test::TempDir dir;
  auto missing = inspect({dir.file("nope.gguf")});
  EXPECT_EQ(missing.exit_code, 3);  // NOT_FOUND
  EXPECT_NE(missing.err.find("nope.gguf"), std::string::npos);

  auto directory = inspect({dir.path()});
  EXPECT_EQ(directory.exit_code, 4);  // FAILED_PRECONDITION
  EXPECT_NE(directory.err.find("not a regular file"), std::string::npos);

  test::write_file(dir.file("notes.txt"), {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  auto text = inspect({dir.file("notes.txt")});
  EXPECT_EQ(text.exit_code, 9);  // DATA_LOSS
  EXPECT_NE(text.err.find("not a GGUF file"), std::string::npos) << text.err;
  EXPECT_NE(text.err.find("offset 0"), std::string::npos) << text.err;

  test::write_file(dir.file("empty.gguf"), {});
  auto empty = inspect({dir.file("empty.gguf")});
  EXPECT_EQ(empty.exit_code, 9);
  EXPECT_NE(empty.err.find("offset 0"), std::string::npos) << empty.err;
}

TEST(ModelsInspectTest, HostileCountsFailFastWithOffset) {
  test::TempDir dir;
  std::vector<uint8_t> bytes = test::read_file(write_tiny_model(dir));
  // n_kv sits at byte 16 (after magic, version, n_tensors).
  const uint64_t huge = 1ull << 60;
  std::memcpy(bytes.data() + 16, &huge, 8);
  test::write_file(dir.file("hostile.gguf"), bytes);
  auto r = inspect({dir.file("hostile.gguf")});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find("offset 16"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("metadata count 1152921504606846976"), std::string::npos) << r.err;
  EXPECT_EQ(r.signal, 0);
}

TEST(ModelsInspectTest, TruncatedConformanceModel) {
  QUIRE_REQUIRE_SHARED();
  test::TempDir dir;
  auto bytes = test::read_file(test::shared_dir() + "/conformance/models/llama-tiny-q4_0.gguf");
  for (size_t cut : {size_t{10}, size_t{5000}, size_t{200000}, bytes.size() - 1}) {
    std::vector<uint8_t> head(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    test::write_file(dir.file("cut.gguf"), head);
    auto r = inspect({dir.file("cut.gguf")});
    EXPECT_EQ(r.exit_code, 9) << "cut at " << cut << ": " << r.err;
    EXPECT_NE(r.err.find("offset "), std::string::npos) << r.err;
    EXPECT_EQ(r.signal, 0);
  }
}

}  // namespace
}  // namespace quire
