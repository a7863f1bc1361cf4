#include "engine/chat/chat_template.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "engine/chat/jinja.h"

namespace quire::engine {
namespace {

using Messages = std::span<const ChatMessage>;

// llama.cpp trims with isspace() in the C locale: space, \t, \n, \v, \f, \r. Bytes >= 0x80
// (UTF-8 sequences) are never whitespace.
bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

std::string_view trim(std::string_view s) {
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end && is_ascii_space(s[begin])) ++begin;
  while (end > begin && is_ascii_space(s[end - 1])) --end;
  return s.substr(begin, end - begin);
}

// ---------------------------------------------------------------------------------------------
// Formatters, one per built-in style. Each appends the whole prompt to `out`. Comments show one
// user turn and the generation prompt, with {c} for the content.

// <|im_start|>user\n{c}<|im_end|>\n ... <|im_start|>assistant\n
void format_chatml(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  }
  if (add_ass) out += "<|im_start|>assistant\n";
}

// The Mistral [INST] family (v1, v3, v3-tekken). One [INST] opens per exchange; the system text
// and the user text share it; an assistant turn closes it with </s>. The generation prompt is
// implicit (the prompt already ends with [/INST]).
//   v1:     " [INST] {sys}\n\n{user} [/INST] {assistant}</s>"
//   v3:     "[INST] {sys}\n\n{user}[/INST] {trim(assistant)}</s>"
//   tekken: "[INST]{sys}\n\n{user}[/INST]{assistant}</s>"
void format_mistral_family(Messages messages, std::string_view leading, std::string_view trailing,
                           bool trim_assistant, std::string& out) {
  bool in_turn = false;
  for (const ChatMessage& m : messages) {
    if (!in_turn) {
      out.append(leading).append("[INST]").append(trailing);
      in_turn = true;
    }
    if (m.role == "system") {
      out += m.content + "\n\n";
    } else if (m.role == "user") {
      out.append(m.content).append(leading).append("[/INST]");
    } else {
      out.append(trailing).append(trim_assistant ? trim(m.content) : m.content).append("</s>");
      in_turn = false;
    }
  }
}
void format_mistral_v1(Messages messages, bool, std::string& out) {
  format_mistral_family(messages, " ", " ", false, out);
}
void format_mistral_v3(Messages messages, bool, std::string& out) {
  format_mistral_family(messages, "", " ", true, out);
}
void format_mistral_v3_tekken(Messages messages, bool, std::string& out) {
  format_mistral_family(messages, "", "", false, out);
}

// [SYSTEM_PROMPT] {sys}[/SYSTEM_PROMPT][INST] {user}[/INST] {assistant}</s>
void format_mistral_v7(Messages messages, bool, std::string& out) {
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      out += "[SYSTEM_PROMPT] " + m.content + "[/SYSTEM_PROMPT]";
    } else if (m.role == "user") {
      out += "[INST] " + m.content + "[/INST]";
    } else {
      out += " " + m.content + "</s>";
    }
  }
}

// Llama-2: "[INST] " opens the first turn (the tokenizer adds BOS), later turns reopen with
// "[INST] " or "<s>[INST] "; the system text is wrapped in <<SYS>> unless the variant has none.
//   "[INST] <<SYS>>\n{sys}\n<</SYS>>\n\n{user} [/INST]{assistant}</s>"
struct Llama2Variant {
  bool system_block;  // <<SYS>> ... <</SYS>>; else "{sys}\n"
  bool bos_in_history;
  bool strip;  // trim every content
};
void format_llama2_family(Messages messages, Llama2Variant variant, std::string& out) {
  out += "[INST] ";
  bool in_turn = true;
  for (const ChatMessage& m : messages) {
    const std::string_view content = variant.strip ? trim(m.content) : m.content;
    if (!in_turn) {
      out += variant.bos_in_history ? "<s>[INST] " : "[INST] ";
      in_turn = true;
    }
    if (m.role == "system") {
      if (variant.system_block) {
        out.append("<<SYS>>\n").append(content).append("\n<</SYS>>\n\n");
      } else {
        out.append(content).append("\n");
      }
    } else if (m.role == "user") {
      out.append(content).append(" [/INST]");
    } else {
      out.append(content).append("</s>");
      in_turn = false;
    }
  }
}
void format_llama2(Messages messages, bool, std::string& out) {
  format_llama2_family(messages, {false, false, false}, out);
}
void format_llama2_sys(Messages messages, bool, std::string& out) {
  format_llama2_family(messages, {true, false, false}, out);
}
void format_llama2_sys_bos(Messages messages, bool, std::string& out) {
  format_llama2_family(messages, {true, true, false}, out);
}
void format_llama2_sys_strip(Messages messages, bool, std::string& out) {
  format_llama2_family(messages, {true, false, true}, out);
}

// <|user|>\n{c}<|end|>\n ... <|assistant|>\n
void format_phi3(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
  if (add_ass) out += "<|assistant|>\n";
}

// <|im_start|>user<|im_sep|>{c}<|im_end|> ... <|im_start|>assistant<|im_sep|>
void format_phi4(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    out += "<|im_start|>" + m.role + "<|im_sep|>" + m.content + "<|im_end|>";
  }
  if (add_ass) out += "<|im_start|>assistant<|im_sep|>";
}

// <|user|>\n{c}\n ... <|assistant|>\n
void format_falcon3(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) out += "<|" + m.role + "|>\n" + m.content + "\n";
  if (add_ass) out += "<|assistant|>\n";
}

// StableLM-Zephyr: <|user|>\n{c}<|endoftext|>\n ... <|assistant|>\n
void format_zephyr(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    out += "<|" + m.role + "|>\n" + m.content + "<|endoftext|>\n";
  }
  if (add_ass) out += "<|assistant|>\n";
}

// {role}\n{c}</s>\n, every turn after the first preceded by <s>; ... <s>assistant\n
void format_monarch(Messages messages, bool add_ass, std::string& out) {
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += "<s>";
    out += messages[i].role + "\n" + messages[i].content + "</s>\n";
  }
  if (add_ass) out += "<s>assistant\n";
}

// Gemma has no system role: the (trimmed) system text opens the next user turn, then "\n\n".
// Contents are trimmed; "assistant" is called "model".
// <start_of_turn>user\n{sys}\n\n{c}<end_of_turn>\n ... <start_of_turn>model\n
void format_gemma(Messages messages, bool add_ass, std::string& out) {
  std::string_view pending_system;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      pending_system = trim(m.content);
      continue;
    }
    const bool is_model = m.role == "assistant";
    out.append("<start_of_turn>").append(is_model ? "model" : m.role).append("\n");
    if (!pending_system.empty() && !is_model) {
      out.append(pending_system).append("\n\n");
      pending_system = {};
    }
    out.append(trim(m.content)).append("<end_of_turn>\n");
  }
  if (add_ass) out += "<start_of_turn>model\n";
}

// Orion: the system text joins the next user turn. The generation prompt is always there.
// Human: {sys}\n\n{c}\n\nAssistant: </s>{assistant}</s>
void format_orion(Messages messages, bool, std::string& out) {
  std::string_view pending_system;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      pending_system = m.content;
    } else if (m.role == "user") {
      out += "Human: ";
      if (!pending_system.empty()) {
        out.append(pending_system).append("\n\n");
        pending_system = {};
      }
      out += m.content + "\n\nAssistant: </s>";
    } else {
      out += m.content + "</s>";
    }
  }
}

// {sys}<|end_of_turn|>GPT4 Correct User: {c}<|end_of_turn|> ... GPT4 Correct Assistant:
void format_openchat(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      out += m.content + "<|end_of_turn|>";
    } else {
      std::string role = m.role;
      if (!role.empty())
        role[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(role[0])));
      out += "GPT4 Correct " + role + ": " + m.content + "<|end_of_turn|>";
    }
  }
  if (add_ass) out += "GPT4 Correct Assistant:";
}

// {sys}\n\nUSER: {c}\nASSISTANT: {assistant}</s>\n ... ASSISTANT:
// (vicuna-orca: "SYSTEM: {sys}\n"). Other roles are dropped.
void format_vicuna_family(Messages messages, bool add_ass, bool orca, std::string& out) {
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      out += orca ? "SYSTEM: " + m.content + "\n" : m.content + "\n\n";
    } else if (m.role == "user") {
      out += "USER: " + m.content + "\n";
    } else if (m.role == "assistant") {
      out += "ASSISTANT: " + m.content + "</s>\n";
    }
  }
  if (add_ass) out += "ASSISTANT:";
}
void format_vicuna(Messages messages, bool add_ass, std::string& out) {
  format_vicuna_family(messages, add_ass, false, out);
}
void format_vicuna_orca(Messages messages, bool add_ass, std::string& out) {
  format_vicuna_family(messages, add_ass, true, out);
}

// deepseek-coder: {sys}### Instruction:\n{c}\n### Response:\n{assistant}\n<|EOT|>\n
void format_deepseek(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      out += m.content;
    } else if (m.role == "user") {
      out += "### Instruction:\n" + m.content + "\n";
    } else if (m.role == "assistant") {
      out += "### Response:\n" + m.content + "\n<|EOT|>\n";
    }
  }
  if (add_ass) out += "### Response:\n";
}

// Command-R, contents trimmed:
// <|START_OF_TURN_TOKEN|><|USER_TOKEN|>{c}<|END_OF_TURN_TOKEN|> ... <|CHATBOT_TOKEN|>
void format_command_r(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    std::string_view token;
    if (m.role == "system") {
      token = "<|SYSTEM_TOKEN|>";
    } else if (m.role == "user") {
      token = "<|USER_TOKEN|>";
    } else if (m.role == "assistant") {
      token = "<|CHATBOT_TOKEN|>";
    } else {
      continue;
    }
    out.append("<|START_OF_TURN_TOKEN|>")
        .append(token)
        .append(trim(m.content))
        .append("<|END_OF_TURN_TOKEN|>");
  }
  if (add_ass) out += "<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>";
}

// Llama-3, contents trimmed:
// <|start_header_id|>user<|end_header_id|>\n\n{c}<|eot_id|> ... assistant<|end_header_id|>\n\n
void format_llama3(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    out.append("<|start_header_id|>")
        .append(m.role)
        .append("<|end_header_id|>\n\n")
        .append(trim(m.content))
        .append("<|eot_id|>");
  }
  if (add_ass) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

// ChatGLM3: [gMASK]sop<|user|>\n {c} ... <|assistant|>
void format_chatglm3(Messages messages, bool add_ass, std::string& out) {
  out += "[gMASK]sop";
  for (const ChatMessage& m : messages) out += "<|" + m.role + "|>\n " + m.content;
  if (add_ass) out += "<|assistant|>";
}

// ChatGLM4 / GLM-Edge: [gMASK]<sop><|user|>\n{c} ... <|assistant|> (GLM-Edge without the prefix)
void format_chatglm4(Messages messages, bool add_ass, std::string& out) {
  out += "[gMASK]<sop>";
  for (const ChatMessage& m : messages) out += "<|" + m.role + "|>\n" + m.content;
  if (add_ass) out += "<|assistant|>";
}
void format_glmedge(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) out += "<|" + m.role + "|>\n" + m.content;
  if (add_ass) out += "<|assistant|>";
}

// MiniCPM, contents trimmed: <用户>{user}<AI>{other roles}. The generation prompt is implicit.
void format_minicpm(Messages messages, bool, std::string& out) {
  for (const ChatMessage& m : messages) {
    if (m.role == "user") {
      out.append("<用户>").append(trim(m.content)).append("<AI>");
    } else {
      out.append(trim(m.content));
    }
  }
}

// DeepSeek-V2: {sys}\n\nUser: {c}\n\nAssistant: {assistant}<｜end▁of▁sentence｜> ... Assistant:
void format_deepseek2(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      out += m.content + "\n\n";
    } else if (m.role == "user") {
      out += "User: " + m.content + "\n\n";
    } else if (m.role == "assistant") {
      out += "Assistant: " + m.content + "<｜end▁of▁sentence｜>";
    }
  }
  if (add_ass) out += "Assistant:";
}

// DeepSeek-V3 / R1: {sys}\n\n<｜User｜>{c}<｜Assistant｜>{assistant}<｜end▁of▁sentence｜> ...
void format_deepseek3(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      out += m.content + "\n\n";
    } else if (m.role == "user") {
      out += "<｜User｜>" + m.content;
    } else if (m.role == "assistant") {
      out += "<｜Assistant｜>" + m.content + "<｜end▁of▁sentence｜>";
    }
  }
  if (add_ass) out += "<｜Assistant｜>";
}

// EXAONE-3, contents trimmed:
// [|system|]{sys}[|endofturn|]\n[|user|]{c}\n[|assistant|]{assistant}[|endofturn|]\n
void format_exaone3(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      out.append("[|system|]").append(trim(m.content)).append("[|endofturn|]\n");
    } else if (m.role == "user") {
      out.append("[|user|]").append(trim(m.content)).append("\n");
    } else if (m.role == "assistant") {
      out.append("[|assistant|]").append(trim(m.content)).append("[|endofturn|]\n");
    }
  }
  if (add_ass) out += "[|assistant|]";
}

// RWKV-World: User: {c}\n\nAssistant:{other roles}\n\n. The generation prompt is implicit.
void format_rwkv_world(Messages messages, bool, std::string& out) {
  for (const ChatMessage& m : messages) {
    if (m.role == "user") {
      out += "User: " + m.content + "\n\nAssistant:";
    } else {
      out += m.content + "\n\n";
    }
  }
}

// Granite: <|start_of_role|>user<|end_of_role|>{c}<|end_of_text|>\n ...
// (role "assistant_tool_call" adds <|tool_call|>)
void format_granite(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    out += "<|start_of_role|>" + m.role + "<|end_of_role|>";
    if (m.role == "assistant_tool_call") out += "<|tool_call|>";
    out += m.content + "<|end_of_text|>\n";
  }
  if (add_ass) out += "<|start_of_role|>assistant<|end_of_role|>\n";
}

// GigaChat: <s>{sys}<|message_sep|>user<|role_sep|>{c}<|message_sep|>available
// functions<|role_sep|>[]<|message_sep|> ... assistant<|role_sep|>. Only a first system
// message counts; other roles are dropped.
void format_gigachat(Messages messages, bool add_ass, std::string& out) {
  const bool has_system = !messages.empty() && messages[0].role == "system";
  out += "<s>";
  if (has_system) out += messages[0].content + "<|message_sep|>";
  for (size_t i = has_system ? 1 : 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "user") {
      out += "user<|role_sep|>" + m.content +
             "<|message_sep|>available functions<|role_sep|>[]<|message_sep|>";
    } else if (m.role == "assistant") {
      out += "assistant<|role_sep|>" + m.content + "<|message_sep|>";
    }
  }
  if (add_ass) out += "assistant<|role_sep|>";
}

// Megrez: <|role_start|>user<|role_end|>{c}<|turn_end|> ... <|role_start|>assistant<|role_end|>
void format_megrez(Messages messages, bool add_ass, std::string& out) {
  for (const ChatMessage& m : messages) {
    out += "<|role_start|>" + m.role + "<|role_end|>" + m.content + "<|turn_end|>";
  }
  if (add_ass) out += "<|role_start|>assistant<|role_end|>";
}

// ---------------------------------------------------------------------------------------------
// The built-in style table: llama.cpp's names (sorted, as llama_chat_builtin_templates lists
// them), the formatter, and the texts that end an assistant turn.

using Formatter = void (*)(Messages, bool add_ass, std::string& out);

struct BuiltinStyle {
  std::string_view name;
  Formatter format;
  std::array<std::string_view, 2> stops;  // "" = unused slot
};

constexpr BuiltinStyle kStyles[] = {
    {"chatglm3", format_chatglm3, {"<|user|>", "<|observation|>"}},
    {"chatglm4", format_chatglm4, {"<|user|>", "<|observation|>"}},
    {"chatml", format_chatml, {"<|im_end|>", ""}},
    {"command-r", format_command_r, {"<|END_OF_TURN_TOKEN|>", ""}},
    {"deepseek", format_deepseek, {"<|EOT|>", "### Instruction:"}},
    {"deepseek2", format_deepseek2, {"<｜end▁of▁sentence｜>", "User:"}},
    {"deepseek3", format_deepseek3, {"<｜end▁of▁sentence｜>", "<｜User｜>"}},
    {"exaone3", format_exaone3, {"[|endofturn|]", "[|user|]"}},
    {"falcon3", format_falcon3, {"\n<|user|>", ""}},
    {"gemma", format_gemma, {"<end_of_turn>", ""}},
    {"gigachat", format_gigachat, {"<|message_sep|>", ""}},
    {"glmedge", format_glmedge, {"<|user|>", ""}},
    {"granite", format_granite, {"<|end_of_text|>", ""}},
    {"llama2", format_llama2, {"</s>", "[INST]"}},
    {"llama2-sys", format_llama2_sys, {"</s>", "[INST]"}},
    {"llama2-sys-bos", format_llama2_sys_bos, {"</s>", "[INST]"}},
    {"llama2-sys-strip", format_llama2_sys_strip, {"</s>", "[INST]"}},
    {"llama3", format_llama3, {"<|eot_id|>", "<|eom_id|>"}},
    {"megrez", format_megrez, {"<|turn_end|>", ""}},
    {"minicpm", format_minicpm, {"<用户>", ""}},
    {"mistral-v1", format_mistral_v1, {"</s>", "[INST]"}},
    {"mistral-v3", format_mistral_v3, {"</s>", "[INST]"}},
    {"mistral-v3-tekken", format_mistral_v3_tekken, {"</s>", "[INST]"}},
    {"mistral-v7", format_mistral_v7, {"</s>", "[INST]"}},
    {"monarch", format_monarch, {"</s>", ""}},
    {"openchat", format_openchat, {"<|end_of_turn|>", ""}},
    {"orion", format_orion, {"</s>", "Human:"}},
    {"phi3", format_phi3, {"<|end|>", ""}},
    {"phi4", format_phi4, {"<|im_end|>", ""}},
    {"rwkv-world", format_rwkv_world, {"\n\nUser:", ""}},
    {"vicuna", format_vicuna, {"</s>", "\nUSER:"}},
    {"vicuna-orca", format_vicuna_orca, {"</s>", "\nUSER:"}},
    {"zephyr", format_zephyr, {"<|endoftext|>", ""}},
};
constexpr size_t kNumStyles = std::size(kStyles);

constexpr std::array<std::string_view, kNumStyles> make_names() {
  std::array<std::string_view, kNumStyles> names{};
  for (size_t i = 0; i < kNumStyles; ++i) names[i] = kStyles[i].name;
  return names;
}
constexpr std::array<std::string_view, kNumStyles> kStyleNames = make_names();

int style_index(std::string_view name) {
  for (size_t i = 0; i < kNumStyles; ++i) {
    if (kStyles[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

// llama.cpp's heuristic (llm_chat_detect_template): the first rule whose marker substrings all
// occur in the Jinja source wins. Order matters: e.g. Phi-3 templates contain "<|user|>" and
// "<|assistant|>" too, and the Mistral checks must run before the Llama-2 ones.
std::string_view detect_style(std::string_view source) {
  const auto has = [source](std::string_view needle) {
    return source.find(needle) != std::string_view::npos;
  };
  if (has("<|im_start|>")) return has("<|im_sep|>") ? "phi4" : "chatml";
  if (source.starts_with("mistral") || has("[INST]")) {
    if (has("[SYSTEM_PROMPT]")) return "mistral-v7";
    // Mistral's official v1 / v3 / v3-tekken templates.
    if (has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]")) {
      if (has(" [INST]")) return "mistral-v1";
      if (has("\"[INST]\"")) return "mistral-v3-tekken";
      return "mistral-v3";
    }
    // Llama-2 and its variants.
    if (has("content.strip()")) return "llama2-sys-strip";
    if (has("bos_token + '[INST]")) return "llama2-sys-bos";
    if (has("<<SYS>>")) return "llama2-sys";
    return "llama2";
  }
  if (has("<|assistant|>") && has("<|end|>")) return "phi3";
  if (has("<|assistant|>") && has("<|user|>")) return has("</s>") ? "falcon3" : "glmedge";
  if (has("<|user|>") && has("<|endoftext|>")) return "zephyr";
  if (has("bos_token + message['role']")) return "monarch";
  if (has("<start_of_turn>")) return "gemma";
  if (has("'\\n\\nAssistant: ' + eos_token")) return "orion";
  if (has("GPT4 Correct ")) return "openchat";
  if (has("USER: ") && has("ASSISTANT: ")) return has("SYSTEM: ") ? "vicuna-orca" : "vicuna";
  if (has("### Instruction:") && has("<|EOT|>")) return "deepseek";
  if (has("<|START_OF_TURN_TOKEN|>") && has("<|USER_TOKEN|>")) return "command-r";
  if (has("<|start_header_id|>") && has("<|end_header_id|>")) return "llama3";
  if (has("[gMASK]sop")) return "chatglm3";
  if (has("[gMASK]<sop>")) return "chatglm4";
  if (has("<用户>")) return "minicpm";
  if (has("'Assistant: ' + message['content'] + eos_token")) return "deepseek2";
  if (has("<｜Assistant｜>") && has("<｜User｜>") && has("<｜end▁of▁sentence｜>"))
    return "deepseek3";
  if (has("[|system|]") && has("[|assistant|]") && has("[|endofturn|]")) return "exaone3";
  if (has("rwkv-world")) return "rwkv-world";
  if (has("<|start_of_role|>")) return "granite";
  if (has("message['role'] + additional_special_tokens[0] + message['content'] + "
          "additional_special_tokens[1]")) {
    return "gigachat";
  }
  if (has("<|role_start|>")) return "megrez";
  return {};
}

std::string joined_names() {
  std::string out;
  for (const std::string_view name : kStyleNames) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// The first characters of a template for error messages, on one line.
std::string excerpt(std::string_view source) {
  std::string out;
  for (const char c : source.substr(0, 60)) out += (c == '\n' || c == '\r') ? ' ' : c;
  if (source.size() > 60) out += "...";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Jinja rendering with llama.cpp's --jinja conventions.

jinja::Data message_data(const ChatMessage& m, bool typed_content) {
  jinja::Data::Object object;
  object.emplace_back("role", jinja::Data(m.role));
  if (typed_content) {
    jinja::Data::Object part;
    part.emplace_back("type", jinja::Data("text"));
    part.emplace_back("text", jinja::Data(m.content));
    object.emplace_back("content", jinja::Data(jinja::Data::Array{jinja::Data(std::move(part))}));
  } else {
    object.emplace_back("content", jinja::Data(m.content));
  }
  return jinja::Data(std::move(object));
}

struct JinjaRun {
  bool polyfill_system_role = false;
  bool typed_content = false;
  std::chrono::system_clock::time_point now;
  jinja::Limits limits;
};

// One render of the template, unstripped.
Result<std::string> render_jinja(const jinja::Template& tmpl, Messages messages,
                                 bool add_generation_prompt, const std::string& bos,
                                 const std::string& eos, const JinjaRun& run) {
  // minja's system-role polyfill: system texts accumulate (joined by "\n") and are prepended
  // to the next user message ("system\nuser"); before any other role, or at the end, they
  // become a user message of their own.
  std::vector<ChatMessage> adjusted;
  if (run.polyfill_system_role) {
    std::string pending;
    const auto flush = [&] {
      if (!pending.empty()) adjusted.push_back({"user", std::exchange(pending, {})});
    };
    for (const ChatMessage& m : messages) {
      if (m.role == "system") {
        if (!pending.empty()) pending += "\n";
        pending += m.content;
        continue;
      }
      if (m.role == "user") {
        ChatMessage merged = m;
        if (!pending.empty()) {
          merged.content = std::exchange(pending, {}) + (m.content.empty() ? "" : "\n" + m.content);
        }
        adjusted.push_back(std::move(merged));
        continue;
      }
      flush();
      adjusted.push_back(m);
    }
    flush();
    messages = adjusted;
  }

  jinja::Data::Array message_list;
  message_list.reserve(messages.size());
  for (const ChatMessage& m : messages) message_list.push_back(message_data(m, run.typed_content));

  jinja::Data::Object context;
  context.emplace_back("messages", jinja::Data(std::move(message_list)));
  context.emplace_back("add_generation_prompt", jinja::Data(add_generation_prompt));
  context.emplace_back("bos_token", jinja::Data(bos));
  context.emplace_back("eos_token", jinja::Data(eos));
  jinja::RenderOptions options;
  options.now = run.now;
  options.limits = run.limits;
  return tmpl.render(context, options);
}

bool renders_needle(const jinja::Template& tmpl, Messages messages, const std::string& bos,
                    const std::string& eos, bool typed_content, std::string_view needle) {
  JinjaRun run;
  run.typed_content = typed_content;
  run.now = std::chrono::system_clock::time_point{};
  // A probe renders two short messages: real templates need a few thousand steps, so a small
  // budget keeps hostile templates from slowing model loading.
  run.limits.max_steps = 200'000;
  run.limits.max_output_bytes = size_t{1} << 20;
  const Result<std::string> out = render_jinja(tmpl, messages, false, bos, eos, run);
  return out.ok() && out->find(needle) != std::string::npos;
}

}  // namespace

std::span<const std::string_view> ChatTemplate::builtin_names() {
  return kStyleNames;
}

Result<ChatTemplate> ChatTemplate::from_name(std::string_view name, std::string bos,
                                             std::string eos) {
  const int index = style_index(name);
  if (index < 0) {
    return invalid_argument_error("unknown chat template style '" + std::string(name) +
                                  "', expected one of: " + joined_names());
  }
  ChatTemplate out;
  out.style_ = index;
  out.bos_ = std::move(bos);
  out.eos_ = std::move(eos);
  out.jinja_status_ = failed_precondition_error("chat template style '" + std::string(name) +
                                                "' has no Jinja source");
  return out;
}

Result<ChatTemplate> ChatTemplate::from_template(std::string_view source, std::string bos,
                                                 std::string eos) {
  if (source.empty()) return invalid_argument_error("empty chat template");
  // A built-in name is accepted in place of a template, as llama.cpp does.
  if (style_index(source) >= 0) return from_name(source, std::move(bos), std::move(eos));
  const std::string_view detected = detect_style(source);
  if (detected.empty()) {
    return unimplemented_error("chat template not recognised as any built-in style (\"" +
                               excerpt(source) + "\"); use the Jinja renderer or a named style");
  }
  Result<ChatTemplate> out = from_jinja(source, bos, eos);
  if (out.ok()) return out;
  // The Jinja source did not parse: keep the built-in style, remember why Jinja is unavailable.
  ChatTemplate fallback;
  fallback.style_ = style_index(detected);
  fallback.bos_ = std::move(bos);
  fallback.eos_ = std::move(eos);
  fallback.jinja_status_ = out.status();
  return fallback;
}

Result<ChatTemplate> ChatTemplate::from_jinja(std::string_view source, std::string bos,
                                              std::string eos) {
  if (source.empty()) return invalid_argument_error("empty chat template");
  Result<jinja::Template> parsed = jinja::Template::parse(source);
  if (!parsed.ok()) return parsed.status().with_context("parsing the Jinja chat template");

  ChatTemplate out;
  out.style_ = style_index(detect_style(source));
  out.jinja_ = std::make_shared<const jinja::Template>(std::move(parsed).value());

  // Capabilities probed the way minja does, by rendering needles: a template that does not
  // show a plain-string user content but shows a typed one ([{type: text, text}]) needs typed
  // contents; one that does not show a system message needs the system-role polyfill.
  const std::string user_needle = "<User Needle>";
  const std::string system_needle = "<System Needle>";
  const ChatMessage user_message{"user", user_needle};
  out.polyfill_typed_content_ =
      !renders_needle(*out.jinja_, {&user_message, 1}, bos, eos, false, user_needle) &&
      renders_needle(*out.jinja_, {&user_message, 1}, bos, eos, true, user_needle);
  const ChatMessage probe[] = {{"system", system_needle}, user_message};
  out.polyfill_system_role_ =
      !renders_needle(*out.jinja_, probe, bos, eos, out.polyfill_typed_content_, system_needle);
  out.bos_ = std::move(bos);
  out.eos_ = std::move(eos);
  return out;
}

Result<std::string> ChatTemplate::apply(std::span<const ChatMessage> messages,
                                        bool add_generation_prompt) const {
  if (style_ < 0) {
    return failed_precondition_error(
        "the chat template matches no built-in style; only the Jinja renderer can apply it");
  }
  std::string out;
  kStyles[style_].format(messages, add_generation_prompt, out);
  return out;
}

Result<std::string> ChatTemplate::apply_jinja(std::span<const ChatMessage> messages,
                                              bool add_generation_prompt,
                                              const ChatJinjaOptions& options) const {
  if (jinja_ == nullptr) return jinja_status_;
  JinjaRun run;
  run.polyfill_system_role = polyfill_system_role_;
  run.typed_content = polyfill_typed_content_;
  run.now = options.now.value_or(std::chrono::system_clock::now());
  Result<std::string> rendered =
      render_jinja(*jinja_, messages, add_generation_prompt, bos_, eos_, run);
  if (!rendered.ok()) return rendered.status().with_context("applying the Jinja chat template");
  std::string out = std::move(rendered).value();
  // As llama.cpp's common_chat: the tokenizer adds BOS, and EOS would end the prompt.
  if (!bos_.empty() && out.starts_with(bos_)) out.erase(0, bos_.size());
  if (!eos_.empty() && out.ends_with(eos_)) out.resize(out.size() - eos_.size());
  return out;
}

std::string_view ChatTemplate::style() const {
  return style_ < 0 ? std::string_view("jinja") : kStyles[style_].name;
}

std::vector<std::string> ChatTemplate::stop_strings() const {
  std::vector<std::string> out;
  const auto add = [&out](std::string_view s) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.emplace_back(s);
  };
  if (style_ >= 0) {
    for (const std::string_view stop : kStyles[style_].stops) add(stop);
  }
  add(eos_);
  return out;
}

}  // namespace quire::engine
