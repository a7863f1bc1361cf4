#include "engine/runtime/chat_prompt.h"

namespace quire::engine {
namespace {

// The text of a special token id, "" when there is none.
std::string token_text(const Vocab& vocab, TokenId id) {
  return id >= 0 && static_cast<size_t>(id) < vocab.size() ? vocab.tokens[static_cast<size_t>(id)]
                                                           : std::string();
}

std::vector<TokenId> encode_prompt(const Tokenizer& tokenizer, const std::string& text) {
  const Vocab& vocab = tokenizer.vocab();
  std::vector<TokenId> tokens = tokenizer.encode(text, /*add_special=*/true,
                                                 /*parse_special=*/true);
  // A template that writes the BOS text itself plus the tokenizer's BOS would give two.
  if (tokens.size() >= 2 && vocab.bos >= 0 && tokens[0] == vocab.bos && tokens[1] == vocab.bos) {
    tokens.erase(tokens.begin());
  }
  return tokens;
}

Result<ChatTemplate> choose_template(const LanguageModel& model, const ChatPromptOptions& options) {
  const Vocab& vocab = model.tokenizer().vocab();
  const std::string bos = token_text(vocab, vocab.bos), eos = token_text(vocab, vocab.eos);
  if (!options.template_name.empty()) {
    return ChatTemplate::from_name(options.template_name, bos, eos);
  }
  const bool overridden = options.template_source.has_value();
  const std::optional<std::string> source =
      overridden ? options.template_source : model.chat_template();
  if (!source) {
    return failed_precondition_error(
        "'" + model.path() +
        "' has no chat template (tokenizer.chat_template); name one with --chat-template "
        "(e.g. chatml) or leave out --chat");
  }
  Result<ChatTemplate> tmpl = ChatTemplate::from_template(*source, bos, eos);
  if (!tmpl.ok()) {
    return tmpl.status().with_context(
        std::string(overridden ? "the given chat template" : "the model's chat template") +
        " is not one quire recognizes; name a built-in style with --chat-template (e.g. "
        "chatml)");
  }
  return tmpl;
}

}  // namespace

Result<ChatPrompt> build_chat_prompt(const LanguageModel& model,
                                     std::span<const ChatMessage> messages,
                                     const ChatPromptOptions& options) {
  if (messages.empty()) return invalid_argument_error("a chat prompt needs at least one message");
  QUIRE_ASSIGN_OR_RETURN(ChatTemplate tmpl, choose_template(model, options));
  ChatPrompt prompt;
  QUIRE_ASSIGN_OR_RETURN(prompt.text, tmpl.apply(messages, options.add_generation_prompt));
  prompt.tokens = encode_prompt(model.tokenizer(), prompt.text);
  prompt.stop = tmpl.stop_strings();
  prompt.style = std::string(tmpl.style());
  return prompt;
}

ChatPrompt build_plain_prompt(const LanguageModel& model, std::string text) {
  ChatPrompt prompt;
  prompt.tokens = encode_prompt(model.tokenizer(), text);
  prompt.text = std::move(text);
  return prompt;
}

}  // namespace quire::engine
