// ChatTemplate without the conformance data: the built-in style table, detection, errors,
// stop strings and the Jinja path's llama.cpp conventions (polyfill, BOS/EOS stripping).
// Expected texts are written from the published formats of each model family.
#include "engine/chat/chat_template.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace quire::engine {
namespace {

const std::vector<ChatMessage> kConversation = {
    {"system", "Sys."}, {"user", "Hi"}, {"assistant", "Hello"}, {"user", "Bye"}};

std::string apply_named(std::string_view name, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  Result<ChatTemplate> t = ChatTemplate::from_name(name, "<s>", "</s>");
  EXPECT_TRUE(t.ok()) << name;
  if (!t.ok()) return "";
  Result<std::string> out = t->apply(messages, add_generation_prompt);
  EXPECT_TRUE(out.ok()) << name;
  return out.ok() ? *out : "";
}

TEST(ChatTemplateTable, HasAllThirtyThreeNamesSortedAndUsable) {
  const auto names = ChatTemplate::builtin_names();
  ASSERT_EQ(names.size(), 33u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::set<std::string_view>(names.begin(), names.end()).size(), 33u);
  for (const std::string_view name : names) {
    Result<ChatTemplate> t = ChatTemplate::from_name(name, "", "");
    ASSERT_TRUE(t.ok()) << name;
    EXPECT_EQ(t->style(), name);
    EXPECT_FALSE(t->has_jinja());
    // Every style renders the user text and has at least one stop string.
    Result<std::string> out = t->apply(kConversation, true);
    ASSERT_TRUE(out.ok()) << name;
    EXPECT_NE(out->find("Bye"), std::string::npos) << name;
    EXPECT_FALSE(t->stop_strings().empty()) << name;
    // A template whose text is the style name selects that style too.
    Result<ChatTemplate> by_text = ChatTemplate::from_template(name, "", "");
    ASSERT_TRUE(by_text.ok()) << name;
    EXPECT_EQ(by_text->style(), name);
  }
}

TEST(ChatTemplateFormat, CoreStyles) {
  EXPECT_EQ(apply_named("chatml", kConversation, true),
            "<|im_start|>system\nSys.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(apply_named("llama3", {{"user", "  Hi \n"}}, true),
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(apply_named("llama3", {{"user", "Hi"}}, false),
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
  EXPECT_EQ(apply_named("mistral-v3-tekken", kConversation, true),
            "[INST]Sys.\n\nHi[/INST]Hello</s>[INST]Bye[/INST]");
  EXPECT_EQ(apply_named("mistral-v3", kConversation, false),
            "[INST] Sys.\n\nHi[/INST] Hello</s>[INST] Bye[/INST]");
  EXPECT_EQ(apply_named("mistral-v1", {{"user", "Hi"}}, true), " [INST] Hi [/INST]");
  EXPECT_EQ(apply_named("llama2-sys", kConversation, true),
            "[INST] <<SYS>>\nSys.\n<</SYS>>\n\nHi [/INST]Hello</s>[INST] Bye [/INST]");
  EXPECT_EQ(apply_named("gemma", {{"system", " S "}, {"user", " U "}, {"assistant", "A"}}, true),
            "<start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\nA<end_of_turn>\n"
            "<start_of_turn>model\n");
  EXPECT_EQ(apply_named("phi3", {{"user", "Hi "}}, true), "<|user|>\nHi <|end|>\n<|assistant|>\n");
  EXPECT_EQ(apply_named("zephyr", {{"user", "Hi"}}, true),
            "<|user|>\nHi<|endoftext|>\n<|assistant|>\n");
}

TEST(ChatTemplateFormat, EdgeCases) {
  // No messages: just the generation prompt (or nothing).
  EXPECT_EQ(apply_named("chatml", {}, true), "<|im_start|>assistant\n");
  EXPECT_EQ(apply_named("chatml", {}, false), "");
  // Roles are passed through where the style prints them.
  EXPECT_EQ(apply_named("chatml", {{"tool", "42"}}, false), "<|im_start|>tool\n42<|im_end|>\n");
  // An empty role does not break openchat's capitalisation.
  EXPECT_EQ(apply_named("openchat", {{"", "x"}}, false), "GPT4 Correct : x<|end_of_turn|>");
  // Non-ASCII bytes are never trimmed as whitespace.
  EXPECT_EQ(apply_named("llama3", {{"user", "\xC2\xA0x\xE3\x80\x80"}}, false),
            "<|start_header_id|>user<|end_header_id|>\n\n\xC2\xA0x\xE3\x80\x80<|eot_id|>");
}

TEST(ChatTemplateDetect, FromTemplateSnippets) {
  const struct {
    const char* source;
    const char* style;
  } cases[] = {
      {"{{ '<|im_start|>' + m }}", "chatml"},
      {"<|im_start|><|im_sep|>", "phi4"},
      {"{{ '[INST] ' + content.strip() + ' [/INST]' }}", "llama2-sys-strip"},
      {"{{ bos_token + '[INST] ' }} <<SYS>>", "llama2-sys-bos"},
      {"[INST] <<SYS>>", "llama2-sys"},
      {"[INST]", "llama2"},
      {"[INST][SYSTEM_PROMPT]", "mistral-v7"},
      {"' [INST] ' + system_message", "mistral-v1"},
      {"[AVAILABLE_TOOLS] \"[INST]\"", "mistral-v3-tekken"},
      {"[AVAILABLE_TOOLS][INST]", "mistral-v3"},
      {"<|assistant|><|end|>", "phi3"},
      {"<|assistant|><|user|></s>", "falcon3"},
      {"<|assistant|><|user|>", "glmedge"},
      {"<|user|><|endoftext|>", "zephyr"},
      {"<start_of_turn>", "gemma"},
      {"GPT4 Correct User", "openchat"},
      {"USER: x ASSISTANT: y", "vicuna"},
      {"SYSTEM: USER: ASSISTANT: ", "vicuna-orca"},
      {"<|start_header_id|>x<|end_header_id|>", "llama3"},
      {"[gMASK]sop", "chatglm3"},
      {"<｜Assistant｜><｜User｜><｜end▁of▁sentence｜>", "deepseek3"},
      {"rwkv-world", "rwkv-world"},
      {"<|start_of_role|>", "granite"},
      {"<|role_start|>", "megrez"},
  };
  for (const auto& c : cases) {
    Result<ChatTemplate> t = ChatTemplate::from_template(c.source, "", "");
    ASSERT_TRUE(t.ok()) << c.source << ": " << t.status().to_string();
    EXPECT_EQ(t->style(), c.style) << c.source;
  }
}

TEST(ChatTemplateErrors, UnknownAndEmpty) {
  Result<ChatTemplate> t = ChatTemplate::from_name("nope", "", "");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("'nope'"), std::string::npos);
  EXPECT_NE(t.status().message().find("chatml"), std::string::npos);

  t = ChatTemplate::from_template("", "", "");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);

  t = ChatTemplate::from_template("{{ messages[0].content }} unknown format", "", "");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(t.status().message().find("{{ messages[0].content }}"), std::string::npos);

  // from_jinja accepts it (no built-in style); apply() then refuses, apply_jinja works.
  t = ChatTemplate::from_jinja("{% for m in messages %}{{ m.content }};{% endfor %}", "", "");
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ(t->style(), "jinja");
  EXPECT_EQ(t->apply(kConversation, true).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(t->apply_jinja(kConversation, true).value(), "Sys.;Hi;Hello;Bye;");

  // A Jinja syntax error: from_jinja fails, from_template keeps the built-in style.
  const char* broken = "<|im_start|>{% if %}";
  EXPECT_EQ(ChatTemplate::from_jinja(broken, "", "").status().code(), StatusCode::kInvalidArgument);
  t = ChatTemplate::from_template(broken, "", "");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->style(), "chatml");
  EXPECT_FALSE(t->has_jinja());
  EXPECT_EQ(t->apply_jinja(kConversation, true).status().code(), StatusCode::kInvalidArgument);

  // Named styles have no Jinja source.
  EXPECT_EQ(
      ChatTemplate::from_name("chatml", "", "")->apply_jinja(kConversation, true).status().code(),
      StatusCode::kFailedPrecondition);
}

TEST(ChatTemplateStops, StyleStopsPlusEos) {
  EXPECT_EQ(ChatTemplate::from_name("chatml", "", "<|im_end|>")->stop_strings(),
            std::vector<std::string>{"<|im_end|>"});
  EXPECT_EQ(ChatTemplate::from_name("llama3", "", "<|end_of_text|>")->stop_strings(),
            (std::vector<std::string>{"<|eot_id|>", "<|eom_id|>", "<|end_of_text|>"}));
  EXPECT_EQ(ChatTemplate::from_name("gemma", "", "")->stop_strings(),
            std::vector<std::string>{"<end_of_turn>"});
  EXPECT_EQ(ChatTemplate::from_jinja("{{ 'x' }}", "", "</s>")->stop_strings(),
            std::vector<std::string>{"</s>"});
}

TEST(ChatTemplateJinja, LlamaCppConventions) {
  // BOS at the start and EOS at the end are removed (once); bos/eos tokens are variables.
  const char* source =
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}"
      "{% if add_generation_prompt %}[assistant:{% else %}{{ eos_token }}{% endif %}";
  Result<ChatTemplate> t = ChatTemplate::from_jinja(source, "<s>", "</s>");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->jinja_polyfills_system_role());
  EXPECT_EQ(t->apply_jinja(kConversation, true).value(),
            "[system:Sys.][user:Hi][assistant:Hello][user:Bye][assistant:");
  EXPECT_EQ(t->apply_jinja(std::vector<ChatMessage>{{"user", "Hi"}}, false).value(), "[user:Hi]");

  // A template that refuses system messages gets them merged into the next user turn.
  const char* gemma_like =
      "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not "
      "supported') }}{% endif %}<{{ m.role }}>{{ m.content }}{% endfor %}";
  t = ChatTemplate::from_jinja(gemma_like, "", "");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->jinja_polyfills_system_role());
  EXPECT_EQ(t->apply_jinja(kConversation, false).value(),
            "<user>Sys.\nHi<assistant>Hello<user>Bye");
  // A system message with no user message after it becomes a user message of its own.
  EXPECT_EQ(
      t->apply_jinja(std::vector<ChatMessage>{{"system", "A"}, {"system", "B"}}, false).value(),
      "<user>A\nB");

  // Run-time errors come back with the template's message.
  Result<std::string> failed =
      ChatTemplate::from_jinja("{{ raise_exception('Conversation roles must alternate') }}", "", "")
          ->apply_jinja(kConversation, true);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(failed.status().message().find("Conversation roles must alternate"), std::string::npos);

  // strftime_now uses the given time.
  std::tm day{};
  day.tm_year = 2025 - 1900;
  day.tm_mon = 0;
  day.tm_mday = 2;
  ChatJinjaOptions options;
  options.now = std::chrono::system_clock::from_time_t(timegm(&day));
  EXPECT_EQ(ChatTemplate::from_jinja("{{ strftime_now('%d %b %Y') }}", "", "")
                ->apply_jinja({}, true, options)
                .value(),
            "02 Jan 2025");
}

TEST(ChatTemplateJinja, TypedContentPolyfill) {
  // A template that only reads typed content parts gets them.
  const char* typed =
      "{% for m in messages %}{% for part in m.content %}{% if part.type == 'text' %}"
      "{{ part.text }}{% endif %}{% endfor %}{% endfor %}";
  Result<ChatTemplate> t = ChatTemplate::from_jinja(typed, "", "");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(
      t->apply_jinja(std::vector<ChatMessage>{{"user", "Hi"}, {"assistant", "Yo"}}, false).value(),
      "HiYo");
}

}  // namespace
}  // namespace quire::engine
