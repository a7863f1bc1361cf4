// Chat templates against llama.cpp build 4748: ../shared/conformance/templates/expected.jsonl
// (200 rows = 17 Jinja files + 33 built-in names, x 2 conversations x add_generation_prompt).
//  * `expected` is llama_chat_apply_template (the built-in formatter chosen by the heuristic
//    detection): ChatTemplate::apply must equal it and style() must equal `builtin_detected`.
//  * `jinja_llamacpp` (file rows only) is the template rendered by minja (llama.cpp --jinja,
//    polyfills on, BOS/EOS stripped, strftime_now pinned to 2024-07-26):
//    ChatTemplate::apply_jinja must equal it.
#include "engine/chat/chat_template.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/chat/jinja.h"
#include "tests/support/test_support.h"

namespace quire::engine {
namespace {

using nlohmann::json;

std::string templates_dir() {
  return test::shared_dir() + "/conformance/templates/";
}

std::vector<json> load_rows() {
  std::vector<json> rows;
  std::ifstream in(templates_dir() + "expected.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(json::parse(line));
  }
  return rows;
}

std::vector<ChatMessage> messages_of(const json& row) {
  std::vector<ChatMessage> messages;
  for (const json& m : row.at("messages")) {
    messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
  }
  return messages;
}

std::string text_or_empty(const json& row, const char* key) {
  return row.contains(key) && row.at(key).is_string() ? row.at(key).get<std::string>() : "";
}

bool is_builtin(const json& row) {
  return row.at("template").get<std::string>().starts_with("builtin:");
}

Result<ChatTemplate> make_template(const json& row, bool jinja) {
  const std::string name = row.at("template").get<std::string>();
  const std::string bos = text_or_empty(row, "bos_token");
  const std::string eos = text_or_empty(row, "eos_token");
  if (name.starts_with("builtin:")) return ChatTemplate::from_name(name.substr(8), bos, eos);
  const std::string source = test::read_text_file(templates_dir() + name);
  return jinja ? ChatTemplate::from_jinja(source, bos, eos)
               : ChatTemplate::from_template(source, bos, eos);
}

std::string row_label(const json& row) {
  return row.at("template").get<std::string>() + " [" + row.at("conversation").get<std::string>() +
         (row.at("add_generation_prompt").get<bool>() ? ", add_gen]" : ", no add_gen]");
}

// Shows where two strings first differ.
std::string first_difference(const std::string& got, const std::string& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  const size_t from = i < 30 ? 0 : i - 30;
  return "first difference at byte " + std::to_string(i) + ": got ..." +
         json(got.substr(from, 80)).dump() + " want ..." + json(want.substr(from, 80)).dump();
}

TEST(ChatTemplateConformance, AllRowsHaveTheExpectedShape) {
  QUIRE_REQUIRE_SHARED();
  const std::vector<json> rows = load_rows();
  ASSERT_EQ(rows.size(), 200u);
  std::set<std::string> files;
  std::set<std::string> builtins;
  for (const json& row : rows) {
    const std::string name = row.at("template").get<std::string>();
    (is_builtin(row) ? builtins : files).insert(name);
  }
  EXPECT_EQ(files.size(), 17u);
  EXPECT_EQ(builtins.size(), 33u);
  // Every built-in name of llama.cpp is one of ours and vice versa.
  std::set<std::string> ours;
  for (const std::string_view name : ChatTemplate::builtin_names()) {
    ours.insert("builtin:" + std::string(name));
  }
  EXPECT_EQ(ours, builtins);
}

// The core six must match llama.cpp byte for byte, style included.
TEST(ChatTemplateConformance, CoreStylesMatchLlamaCpp) {
  QUIRE_REQUIRE_SHARED();
  size_t core_rows = 0;
  std::set<std::string> styles;
  for (const json& row : load_rows()) {
    if (!row.at("core").get<bool>()) continue;
    ++core_rows;
    ASSERT_EQ(row.at("expected_rc").get<int>(),
              static_cast<int>(row.at("expected").get<std::string>().size()));
    Result<ChatTemplate> tmpl = make_template(row, false);
    ASSERT_TRUE(tmpl.ok()) << row_label(row) << ": " << tmpl.status().to_string();
    EXPECT_EQ(tmpl->style(), row.at("builtin_detected").get<std::string>()) << row_label(row);
    styles.insert(std::string(tmpl->style()));
    Result<std::string> out = tmpl->apply(messages_of(row), row.at("add_generation_prompt"));
    ASSERT_TRUE(out.ok()) << row_label(row) << ": " << out.status().to_string();
    const std::string want = row.at("expected").get<std::string>();
    EXPECT_EQ(*out, want) << row_label(row) << ": " << first_difference(*out, want);
  }
  EXPECT_EQ(core_rows, 24u);
  EXPECT_EQ(styles, (std::set<std::string>{"chatml", "llama3", "mistral-v3-tekken", "gemma", "phi3",
                                           "zephyr"}));
}

// All 200 rows through the built-in formatters; prints the failures by template.
TEST(ChatTemplateConformance, AllRowsMatchLlamaCpp) {
  QUIRE_REQUIRE_SHARED();
  size_t passed = 0;
  size_t total = 0;
  std::map<std::string, int> failures;
  for (const json& row : load_rows()) {
    ++total;
    Result<ChatTemplate> tmpl = make_template(row, false);
    if (row.at("expected_rc").get<int>() < 0) {  // llama.cpp: unsupported
      if (!tmpl.ok()) ++passed;
      continue;
    }
    bool ok = tmpl.ok() && tmpl->style() == row.at("builtin_detected").get<std::string>();
    if (ok) {
      Result<std::string> out = tmpl->apply(messages_of(row), row.at("add_generation_prompt"));
      ok = out.ok() && *out == row.at("expected").get<std::string>();
    }
    if (ok) {
      ++passed;
    } else {
      ++failures[row.at("template").get<std::string>() + " (" +
                 row.at("builtin_detected").get<std::string>() + ")"];
    }
  }
  std::printf("built-in formatter rows: %zu/%zu equal to llama.cpp\n", passed, total);
  for (const auto& [name, count] : failures)
    std::printf("  FAIL %s: %d rows\n", name.c_str(), count);
  EXPECT_EQ(total, 200u);
  EXPECT_EQ(passed, 200u);
}

// The Jinja renderer against minja (llama.cpp --jinja), on the 68 rows of the 17 files.
TEST(ChatTemplateConformance, JinjaMatchesLlamaCppJinja) {
  QUIRE_REQUIRE_SHARED();
  std::tm pinned{};
  pinned.tm_year = 2024 - 1900;
  pinned.tm_mon = 6;
  pinned.tm_mday = 26;
  ChatJinjaOptions options;
  options.now = std::chrono::system_clock::from_time_t(timegm(&pinned));

  size_t passed = 0;
  size_t total = 0;
  std::map<std::string, int> failures;
  for (const json& row : load_rows()) {
    if (!row.contains("jinja_llamacpp") || !row.at("jinja_llamacpp").is_string()) continue;
    ++total;
    const std::string label = row_label(row);
    Result<ChatTemplate> tmpl = make_template(row, true);
    ASSERT_TRUE(tmpl.ok()) << label << ": " << tmpl.status().to_string();
    EXPECT_EQ(tmpl->jinja_polyfills_system_role(),
              row.at("jinja_system_role_polyfilled").get<bool>())
        << label;
    Result<std::string> out =
        tmpl->apply_jinja(messages_of(row), row.at("add_generation_prompt"), options);
    const std::string want = row.at("jinja_llamacpp").get<std::string>();
    if (out.ok() && *out == want) {
      ++passed;
      continue;
    }
    ++failures[row.at("template").get<std::string>()];
    if (out.ok()) {
      ADD_FAILURE() << label << ": " << first_difference(*out, want);
    } else {
      ADD_FAILURE() << label << ": " << out.status().to_string();
    }
  }
  std::printf("Jinja rows: %zu/%zu equal to llama.cpp --jinja (minja)\n", passed, total);
  for (const auto& [name, count] : failures)
    std::printf("  FAIL %s: %d rows\n", name.c_str(), count);
  EXPECT_EQ(total, 68u);
  EXPECT_EQ(passed, 68u);
}

// Beyond the conformance rows: every file renders a tool-calling conversation (tools, an
// assistant tool call, a tool result) through the interpreter directly. Expected: 15 templates
// show the tool, Phi-3.5 ignores tools, Gemma's own check rejects the non-alternating roles.
TEST(ChatTemplateConformance, JinjaRendersToolConversations) {
  QUIRE_REQUIRE_SHARED();
  using jinja::Data;
  const auto object = [](Data::Object o) { return Data(std::move(o)); };
  const Data parameters = object(
      {{"type", Data("object")},
       {"properties",
        object({{"city", object({{"type", Data("string")}, {"description", Data("City.")}})},
                {"days", object({{"type", Data("integer")}, {"description", Data("Days.")}})}})},
       {"required", Data(Data::Array{Data("city")})}});
  const Data tool = object({{"type", Data("function")},
                            {"function", object({{"name", Data("get_weather")},
                                                 {"description", Data("Get weather.")},
                                                 {"parameters", parameters}})}});
  const Data call =
      object({{"id", Data("call_1___")},
              {"type", Data("function")},
              {"function", object({{"name", Data("get_weather")},
                                   {"arguments", object({{"city", Data("Paris")}})}})}});
  const Data::Array messages = {
      object({{"role", Data("user")}, {"content", Data("Weather in Paris?")}}),
      object({{"role", Data("assistant")},
              {"content", Data()},
              {"tool_calls", Data(Data::Array{call})}}),
      object({{"role", Data("tool")},
              {"name", Data("get_weather")},
              {"tool_call_id", Data("call_1___")},
              {"content", Data("22C")}}),
      object({{"role", Data("assistant")}, {"content", Data("It is 22C.")}}),
      object({{"role", Data("user")}, {"content", Data("Thanks")}}),
  };
  const Data::Object context = {{"messages", Data(messages)},
                                {"tools", Data(Data::Array{tool})},
                                {"add_generation_prompt", Data(true)},
                                {"bos_token", Data("<s>")},
                                {"eos_token", Data("</s>")}};
  jinja::RenderOptions options;
  options.now = std::chrono::system_clock::from_time_t(0);

  std::set<std::string> files;
  for (const json& row : load_rows()) {
    if (!is_builtin(row)) files.insert(row.at("template").get<std::string>());
  }
  ASSERT_EQ(files.size(), 17u);
  int with_tool = 0;
  for (const std::string& file : files) {
    Result<jinja::Template> tmpl =
        jinja::Template::parse(test::read_text_file(templates_dir() + file));
    ASSERT_TRUE(tmpl.ok()) << file << ": " << tmpl.status().to_string();
    Result<std::string> out = tmpl->render(context, options);
    if (file == "google-gemma-2-2b-it.jinja") {
      ASSERT_FALSE(out.ok());
      EXPECT_NE(out.status().message().find("Conversation roles must alternate"),
                std::string::npos);
      continue;
    }
    ASSERT_TRUE(out.ok()) << file << ": " << out.status().to_string();
    if (out->find("get_weather") != std::string::npos) ++with_tool;
    EXPECT_NE(out->find("Thanks"), std::string::npos) << file;
  }
  EXPECT_EQ(with_tool, 15);

  // Qwen2.5's tool format in full (tojson = Python's json.dumps).
  Result<std::string> qwen =
      jinja::Template::parse(
          test::read_text_file(templates_dir() + "Qwen-Qwen2.5-7B-Instruct.jinja"))
          ->render(context, options);
  ASSERT_TRUE(qwen.ok());
  EXPECT_EQ(*qwen,
            "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            "assistant.\n\n# Tools\n\nYou may call one or more functions to assist with the user "
            "query.\n\nYou are provided with function signatures within <tools></tools> XML "
            "tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
            "\"description\": \"Get weather.\", \"parameters\": {\"type\": \"object\", "
            "\"properties\": {\"city\": {\"type\": \"string\", \"description\": \"City.\"}, "
            "\"days\": {\"type\": \"integer\", \"description\": \"Days.\"}}, \"required\": "
            "[\"city\"]}}}\n</tools>\n\nFor each function call, return a json object with "
            "function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
            "{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
            "<|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n"
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
            "</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n22C\n</tool_response>"
            "<|im_end|>\n<|im_start|>assistant\nIt is 22C.<|im_end|>\n<|im_start|>user\nThanks"
            "<|im_end|>\n<|im_start|>assistant\n");
}

}  // namespace
}  // namespace quire::engine
