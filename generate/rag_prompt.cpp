#include "generate/rag_prompt.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace quire::generate {
namespace {

constexpr const char* kDefault =
    "quire's built-in RAG prompt.\n"
    "### system\n"
    "You answer questions using only the numbered sources the user gives you. After every claim, "
    "put the number of the source that supports it in square brackets, like [1] or [2, 3]. Do "
    "not use outside knowledge. If the sources do not contain the answer, say plainly that the "
    "sources do not contain it, and do not guess. Be brief.\n"
    "### source\n"
    "[{n}] {title} — {file}, {pages}\n"
    "{text}\n"
    "### user\n"
    "Sources:\n"
    "\n"
    "{sources}\n"
    "\n"
    "Question: {question}\n";

// Replaces {name} placeholders; `values` are (name, value) pairs. Unknown names were rejected
// at parse time, so every placeholder is known here.
std::string fill(const std::string& text,
                 const std::vector<std::pair<std::string_view, std::string>>& values) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find('{', i);
    if (open == std::string::npos) break;
    const size_t close = text.find('}', open);
    if (close == std::string::npos) break;
    const std::string_view name(text.data() + open + 1, close - open - 1);
    bool replaced = false;
    for (const auto& [key, value] : values) {
      if (key == name) {
        out.append(text, i, open - i);
        out += value;
        replaced = true;
        break;
      }
    }
    if (!replaced) out.append(text, i, close + 1 - i);
    i = close + 1;
  }
  out.append(text, i, std::string::npos);
  return out;
}

// Every {name} of `text` must be in `allowed`.
Status check_placeholders(const std::string& text, const std::vector<std::string_view>& allowed,
                          const std::string& section) {
  for (size_t open = text.find('{'); open != std::string::npos; open = text.find('{', open + 1)) {
    const size_t close = text.find('}', open);
    if (close == std::string::npos) break;
    const std::string name = text.substr(open + 1, close - open - 1);
    // Braces around anything but an identifier are plain text ("{x: 1}" in an instruction).
    bool identifier = !name.empty();
    for (char c : name)
      identifier = identifier && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!identifier) continue;
    bool known = false;
    for (std::string_view a : allowed) known = known || a == name;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed)
        list += (list.empty() ? "{" : ", {") + std::string(a) + "}";
      return invalid_argument_error("prompt template, section '" + section +
                                    "': unknown placeholder {" + name + "} (known: " + list + ")");
    }
  }
  return ok_status();
}

std::string trim_trailing_newlines(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

std::string page_label(int64_t page_start, int64_t page_end) {
  if (page_end <= page_start) return "p. " + std::to_string(page_start);
  return "pp. " + std::to_string(page_start) + "\xE2\x80\x93" + std::to_string(page_end);
}

const RagPromptTemplate& RagPromptTemplate::default_template() {
  static const RagPromptTemplate t = *parse(kDefault);
  return t;
}

Result<RagPromptTemplate> RagPromptTemplate::parse(const std::string& text) {
  RagPromptTemplate t;
  std::string* current = nullptr;
  bool seen_system = false, seen_source = false, seen_user = false;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.rfind("### ", 0) == 0) {
      const std::string name = line.substr(4);
      bool* seen = name == "system"   ? &seen_system
                   : name == "source" ? &seen_source
                   : name == "user"   ? &seen_user
                                      : nullptr;
      if (seen == nullptr) {
        return invalid_argument_error("prompt template, line " + std::to_string(line_no) +
                                      ": unknown section '" + name +
                                      "' (expected system, source or user)");
      }
      if (*seen) {
        return invalid_argument_error("prompt template, line " + std::to_string(line_no) +
                                      ": section '" + name + "' given twice");
      }
      *seen = true;
      current = name == "system" ? &t.system_ : name == "source" ? &t.source_ : &t.user_;
      continue;
    }
    if (current != nullptr) *current += line + "\n";
  }
  for (auto [seen, name] : {std::pair{seen_system, "system"}, std::pair{seen_source, "source"},
                            std::pair{seen_user, "user"}}) {
    if (!seen) {
      return invalid_argument_error(std::string("prompt template: no '### ") + name + "' section");
    }
  }
  t.system_ = trim_trailing_newlines(t.system_);
  t.source_ = trim_trailing_newlines(t.source_);
  t.user_ = trim_trailing_newlines(t.user_);
  QUIRE_RETURN_IF_ERROR(check_placeholders(t.system_, {}, "system"));
  QUIRE_RETURN_IF_ERROR(
      check_placeholders(t.source_, {"n", "title", "file", "path", "pages", "text"}, "source"));
  QUIRE_RETURN_IF_ERROR(check_placeholders(t.user_, {"sources", "question"}, "user"));
  return t;
}

Result<RagPromptTemplate> RagPromptTemplate::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return not_found_error("cannot read the prompt template '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  auto t = parse(text.str());
  if (!t.ok()) return t.status().with_context(path);
  return t;
}

std::string RagPromptTemplate::render_source(const retrieve::PackedSource& s) const {
  const std::string file = std::filesystem::path(s.path).filename().string();
  return fill(source_, {{"n", std::to_string(s.number)},
                        {"title", s.title.empty() ? file : s.title},
                        {"file", file},
                        {"path", s.path},
                        {"pages", page_label(s.page_start, s.page_end)},
                        {"text", s.text}});
}

std::vector<engine::ChatMessage> RagPromptTemplate::messages(
    const std::vector<retrieve::PackedSource>& sources, const std::string& question) const {
  std::string joined;
  for (const auto& s : sources) {
    if (!joined.empty()) joined += "\n\n";
    joined += render_source(s);
  }
  std::vector<engine::ChatMessage> out;
  if (!system_.empty()) out.push_back({"system", system_});
  out.push_back({"user", fill(user_, {{"sources", joined}, {"question", question}})});
  return out;
}

}  // namespace quire::generate
