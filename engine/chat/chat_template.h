// Chat templates: turning a conversation into the prompt text a chat model was trained on.
//
// Two renderers, both matching llama.cpp build 4748:
//  * Built-in styles (apply): llama_chat_apply_template, what llama-cli / llama-server use
//    without --jinja. A style is either named ("chatml", "llama3", ...; builtin_names()) or
//    detected from the model's tokenizer.chat_template text by looking for marker substrings
//    ("<|im_start|>" -> chatml, "[INST]" -> the Mistral / Llama-2 family, ...). Each style is a
//    hand-written formatter; only roles and contents are used, the Jinja logic is ignored.
//    Whitespace is kept exactly as llama.cpp does: some styles trim each message's content
//    (llama3, gemma, command-r, exaone3, minicpm, llama2-sys-strip, mistral-v3's assistant
//    turns), the others copy it verbatim. Role names other than system/user/assistant are
//    passed through where the style prints the role, otherwise treated as the style does
//    (usually like "assistant"); they are never rejected.
//  * Jinja (apply_jinja): the template source run by our own Jinja interpreter
//    (engine/chat/jinja.h) with llama.cpp's --jinja conventions (minja): `messages`,
//    `add_generation_prompt`, `bos_token`, `eos_token`, `strftime_now`; a template that cannot
//    render a system message (Gemma) gets the system text merged into the next user message
//    ("system\nuser"); a leading BOS text and a trailing EOS text are removed from the result
//    (the tokenizer adds BOS itself).
//
// A ChatTemplate is immutable after creation and safe to use from many threads.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace quire::engine {

namespace jinja {
class Template;
}

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (others are passed through)
  std::string content;
};

// Options of apply_jinja.
struct ChatJinjaOptions {
  // The time strftime_now() formats, in UTC. Unset: the current time.
  std::optional<std::chrono::system_clock::time_point> now;
};

class ChatTemplate {
 public:
  // From the model's tokenizer.chat_template text: the built-in style is detected from it as
  // llama.cpp does; when none matches -> kUnimplemented (message names the template's first
  // characters), empty source -> kInvalidArgument. A source equal to a built-in name selects
  // that style. The Jinja source is also parsed for apply_jinja; a parse error there is not an
  // error here (apply_jinja reports it). bos/eos: the model's BOS/EOS token texts, used by
  // apply_jinja (bos_token / eos_token) and stop_strings().
  static Result<ChatTemplate> from_template(std::string_view source, std::string bos,
                                            std::string eos);
  // A built-in style by name (see builtin_names()); unknown -> kInvalidArgument listing them.
  // Such a template has no Jinja source: apply_jinja -> kFailedPrecondition.
  static Result<ChatTemplate> from_name(std::string_view name, std::string bos, std::string eos);
  // For --jinja: the source must parse as Jinja (else kInvalidArgument with the position); a
  // built-in style is detected too when possible (style() is "jinja" otherwise, and apply()
  // then fails with kFailedPrecondition).
  static Result<ChatTemplate> from_jinja(std::string_view source, std::string bos, std::string eos);

  // The rendered prompt text of the built-in style. add_generation_prompt: end with the
  // assistant turn's opening (some styles, e.g. the Mistral family, ignore it as llama.cpp
  // does). kFailedPrecondition when no built-in style was detected (from_jinja only).
  Result<std::string> apply(std::span<const ChatMessage> messages,
                            bool add_generation_prompt) const;

  // The rendered prompt text of the Jinja template (see the header comment). Errors: no Jinja
  // source or it did not parse -> kFailedPrecondition / kInvalidArgument; the template called
  // raise_exception or failed at run time -> kInvalidArgument with the template's message;
  // it exceeded the interpreter's step, depth or size limits -> kResourceExhausted.
  Result<std::string> apply_jinja(std::span<const ChatMessage> messages, bool add_generation_prompt,
                                  const ChatJinjaOptions& options = {}) const;

  // The detected or named built-in style, as llama.cpp names it ("chatml", "llama3", ...), or
  // "jinja" for a from_jinja template no built-in style matches.
  std::string_view style() const;
  // Whether apply_jinja can run (a Jinja source that parsed).
  bool has_jinja() const { return jinja_ != nullptr; }
  // True when the Jinja template does not render a system message and apply_jinja merges it
  // into the next user message (llama.cpp's polyfill; Gemma).
  bool jinja_polyfills_system_role() const { return polyfill_system_role_; }

  // The 33 names of llama_chat_builtin_templates(), sorted.
  static std::span<const std::string_view> builtin_names();

  // Strings that end an assistant turn in this style (e.g. "<|im_end|>", "<|eot_id|>", "</s>"),
  // plus the model's EOS text when not empty, without duplicates; the generator uses them as
  // extra stop strings. Styles with no end marker give the next turn's opening instead (e.g.
  // falcon3 "\n<|user|>").
  std::vector<std::string> stop_strings() const;

 private:
  ChatTemplate() = default;

  int style_ = -1;  // index into the built-in style table; -1 = none detected
  std::string bos_;
  std::string eos_;
  std::shared_ptr<const jinja::Template> jinja_;  // null: no Jinja source or it did not parse
  Status jinja_status_;                           // why jinja_ is null when a source was given
  bool polyfill_system_role_ = false;
  bool polyfill_typed_content_ = false;
};

}  // namespace quire::engine
