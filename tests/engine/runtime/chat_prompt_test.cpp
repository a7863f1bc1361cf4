// chat_prompt: choosing and rendering the chat template, encoding, stop strings.
#include "engine/runtime/chat_prompt.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

std::unique_ptr<LanguageModel> open_model(const std::string& name) {
  auto lm = LanguageModel::open(test::shared_dir() + "/conformance/models/" + name);
  EXPECT_TRUE(lm.ok()) << lm.status().message();
  return lm.ok() ? std::move(lm).value() : nullptr;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(ChatPrompt, NamedStyleRendersEncodesAndStops) {
  QUIRE_REQUIRE_SHARED();
  auto lm = open_model("qwen2-tiny-f32.gguf");
  ASSERT_NE(lm, nullptr);
  const std::vector<ChatMessage> messages = {{"system", "Be brief."}, {"user", "Hello!"}};
  ChatPromptOptions options;
  options.template_name = "chatml";
  auto p = build_chat_prompt(*lm, messages, options);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->text,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(p->style, "chatml");
  EXPECT_EQ(p->tokens, lm->tokenizer().encode(p->text, true, true));
  EXPECT_TRUE(contains(p->stop, "<|im_end|>"));
  // Without the generation prompt the assistant's opening is not there.
  options.add_generation_prompt = false;
  auto q = build_chat_prompt(*lm, messages, options);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->text.find("<|im_start|>assistant"), std::string::npos);
}

TEST(ChatPrompt, TemplateSourceOverridesTheModels) {
  QUIRE_REQUIRE_SHARED();
  auto lm = open_model("llama-tiny-q8_0.gguf");  // a file without tokenizer.chat_template
  ASSERT_NE(lm, nullptr);
  const std::vector<ChatMessage> messages = {{"user", "Hi"}};
  auto missing = build_chat_prompt(*lm, messages);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(missing.status().message().find("no chat template"), std::string::npos);

  ChatPromptOptions options;
  options.template_source =
      "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content "
      "}}<|eot_id|>{% endfor %}";
  auto p = build_chat_prompt(*lm, messages, options);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->style, "llama3");
  EXPECT_NE(p->text.find("<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"),
            std::string::npos)
      << p->text;
  EXPECT_TRUE(contains(p->stop, "<|eot_id|>"));

  options.template_source = "nothing a chat format would have";
  auto bad = build_chat_prompt(*lm, messages, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("the given chat template"), std::string::npos)
      << bad.status().message();

  EXPECT_FALSE(build_chat_prompt(*lm, std::vector<ChatMessage>{}).ok());
  ChatPromptOptions unknown;
  unknown.template_name = "no-such-style";
  auto u = build_chat_prompt(*lm, messages, unknown);
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("no-such-style"), std::string::npos);
}

TEST(ChatPrompt, BosIsNeverDoubled) {
  QUIRE_REQUIRE_SHARED();
  auto lm = open_model("llama-tiny-q8_0.gguf");
  ASSERT_NE(lm, nullptr);
  const TokenId bos = lm->tokenizer().vocab().bos;
  ASSERT_GE(bos, 0);
  const std::string bos_text = lm->tokenizer().vocab().tokens[static_cast<size_t>(bos)];
  // A template (llama2 style) that writes the BOS text itself.
  ChatPromptOptions options;
  options.template_name = "llama2";
  auto p = build_chat_prompt(*lm, std::vector<ChatMessage>{{"user", "Hi"}}, options);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_GE(p->tokens.size(), 2u);
  EXPECT_EQ(p->tokens[0], bos);
  EXPECT_NE(p->tokens[1], bos);
  // Plain text that starts with the BOS text: still one BOS.
  ChatPrompt plain = build_plain_prompt(*lm, bos_text + "Hello");
  ASSERT_GE(plain.tokens.size(), 2u);
  EXPECT_EQ(plain.tokens[0], bos);
  EXPECT_NE(plain.tokens[1], bos);
  EXPECT_TRUE(plain.stop.empty());
  EXPECT_EQ(build_plain_prompt(*lm, "Hello").tokens, lm->tokenizer().encode("Hello", true, true));
}

}  // namespace
}  // namespace quire::engine
