// Prompts for a decoder model: a conversation (or plain text) -> the text the model was trained
// on, its token ids and the stop strings of its chat format. The one place where the chat
// template is chosen and rendered, shared by `quire generate`, `ask`, `batch` and the HTTP
// server's /v1/chat/completions.
//
// Thread-safety: every function here is pure over a const LanguageModel and may run from many
// threads at once.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/chat/chat_template.h"
#include "engine/core/status.h"
#include "engine/runtime/generator.h"
#include "engine/tokenizer/tokenizer.h"

namespace quire::engine {

struct ChatPromptOptions {
  // A built-in style by name ("chatml", "llama3", ...; ChatTemplate::builtin_names()). Empty:
  // the style detected from template_source, else from the model's tokenizer.chat_template.
  std::string template_name;
  // A template text replacing the model's (e.g. from a config file); its style is detected as
  // llama.cpp does.
  std::optional<std::string> template_source;
  bool add_generation_prompt = true;  // end with the opening of the assistant's turn
};

struct ChatPrompt {
  std::string text;               // the rendered prompt
  std::vector<TokenId> tokens;    // encode(text) with BOS as the model wants, never doubled
  std::vector<std::string> stop;  // stop strings of the chat format (plus the EOS text)
  std::string style;              // the chat template style used ("chatml", ...)
};

// Renders `messages` with the model's chat template (or the override) and encodes it.
// Errors: kFailedPrecondition when the model has no chat template and none is named
// (the message says how to name one); kUnimplemented/kInvalidArgument from the template
// (unknown name, unrecognized style) with context; kInvalidArgument for no messages.
Result<ChatPrompt> build_chat_prompt(const LanguageModel& model,
                                     std::span<const ChatMessage> messages,
                                     const ChatPromptOptions& options = {});

// Plain text (no chat format) encoded as `quire generate -p` without --chat does: BOS as the
// model wants, special-token text parsed. No stop strings.
ChatPrompt build_plain_prompt(const LanguageModel& model, std::string text);

}  // namespace quire::engine
