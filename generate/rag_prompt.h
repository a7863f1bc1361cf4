// The RAG prompt: an instruction, the numbered sources and the question, rendered through the
// generation model's chat template (engine/runtime/chat_prompt.h).
//
// The layout is a template the user can replace (`--prompt-template FILE`, docs/answers.md): a
// text with three sections, each introduced by a line of its own,
//   ### system      the system message
//   ### source      one source; placeholders {n} {title} {file} {path} {pages} {text}
//   ### user        the user message; placeholders {sources} (the rendered sources, joined by a
//                   blank line) and {question}
// Text before the first section line is a comment. {pages} is "p. 3" or "pp. 3–4"; {title} falls
// back to the file name when the document has no title. Unknown placeholders are an error.
//
// Thread-safety: a RagPromptTemplate is immutable; rendering is pure.
#pragma once

#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/runtime/chat_prompt.h"
#include "retrieve/context_pack.h"

namespace quire::generate {

class RagPromptTemplate {
 public:
  // The built-in template: answer only from the numbered sources, put [n] after each claim,
  // say plainly when the sources do not contain the answer.
  static const RagPromptTemplate& default_template();
  // Parses the format above. kInvalidArgument (naming the line) for a missing section, a
  // repeated one, or an unknown placeholder.
  static Result<RagPromptTemplate> parse(const std::string& text);
  static Result<RagPromptTemplate> load(const std::string& path);

  // "[1] Attention Is All You Need — 1706.03762.pdf, p. 3" + text, as the source section says.
  std::string render_source(const retrieve::PackedSource& source) const;
  // System and user messages for the chat template.
  std::vector<engine::ChatMessage> messages(const std::vector<retrieve::PackedSource>& sources,
                                            const std::string& question) const;

  const std::string& system() const { return system_; }

 private:
  std::string system_;
  std::string source_;
  std::string user_;
};

// "p. 3", "pp. 3–4".
std::string page_label(int64_t page_start, int64_t page_end);

}  // namespace quire::generate
