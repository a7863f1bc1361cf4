// Jinja parsing: the source is cut into text, {{ }}, {% %} and {# #} tokens (the expressions and
// statement headers inside tags parsed on the way), whitespace control is applied to the text
// tokens as minja does, and the tokens are assembled into the statement tree.
#include <algorithm>
#include <charconv>
#include <string>

#include "engine/chat/jinja.h"
#include "engine/chat/jinja_ast.h"
#include "engine/core/utf8.h"

namespace quire::engine::jinja {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || (c >= '0' && c <= '9');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Words that end an operand: never variables, never the argument of a test.
bool is_keyword(std::string_view word) {
  return word == "and" || word == "or" || word == "not" || word == "in" || word == "is" ||
         word == "if" || word == "else";
}

struct Token {
  enum class Type { kText, kOutput, kComment, kTag };
  Type type = Type::kText;
  size_t offset = 0;
  bool strip_before = false;   // "-" after the opening delimiter
  bool strip_after = false;    // "-" before the closing delimiter
  std::string text;            // kText
  std::string keyword;         // kTag
  std::unique_ptr<Stmt> stmt;  // kOutput: the statement; kTag: its header
};

class Parser {
 public:
  Parser(std::string_view source, const ParseOptions& options) : src_(source), options_(options) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  Result<std::shared_ptr<Program>> run() {
    QUIRE_RETURN_IF_ERROR(tokenize());
    apply_whitespace_control();
    auto program = std::make_shared<Program>();
    size_t i = 0;
    QUIRE_RETURN_IF_ERROR(build(i, program->body, {}, 0, 0));
    return program;
  }

 private:
  // ---- positions and errors ------------------------------------------------------------------

  SourcePos pos_at(size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t line = static_cast<size_t>(it - line_starts_.begin());
    return SourcePos{static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
  }

  Status error_at(size_t offset, const std::string& what) const {
    const SourcePos p = pos_at(offset);
    return invalid_argument_error("jinja: " + what + " at line " + std::to_string(p.line) +
                                  ", column " + std::to_string(p.column));
  }

  // Records the first error (at the cursor) and returns null, for the expression parsers.
  std::nullptr_t fail(const std::string& what) {
    if (status_.ok()) status_ = error_at(pos_, what);
    return nullptr;
  }

  // Bounds the parser's own recursion.
  struct DepthGuard {
    explicit DepthGuard(Parser& p) : parser(p) { ++parser.depth_; }
    ~DepthGuard() { --parser.depth_; }
    bool exceeded() const { return parser.depth_ > parser.options_.max_nesting; }
    Parser& parser;
  };
  std::nullptr_t too_deep() {
    if (status_.ok()) {
      const SourcePos p = pos_at(pos_);
      status_ = resource_exhausted_error(
          "jinja: expression nested deeper than " + std::to_string(options_.max_nesting) +
          " levels at line " + std::to_string(p.line) + ", column " + std::to_string(p.column));
    }
    return nullptr;
  }

  ExprPtr make(ExprKind kind, size_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos_at(offset);
    return e;
  }
  // Adds an operand (may be null for optional parts) and keeps the height bounded.
  bool add(Expr& parent, ExprPtr child) {
    if (child) {
      parent.height = std::max(parent.height, child->height + 1);
      if (parent.height > options_.max_nesting) {
        too_deep();
        return false;
      }
    }
    parent.operands.push_back(std::move(child));
    return true;
  }

  // ---- low-level scanning ---------------------------------------------------------------------

  bool at_end() const { return pos_ >= src_.size(); }
  void skip_ws() {
    while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
  }
  bool peek(std::string_view s) {
    skip_ws();
    return src_.substr(pos_).starts_with(s);
  }
  bool accept(std::string_view s) {
    if (!peek(s)) return false;
    pos_ += s.size();
    return true;
  }
  // The identifier at the cursor (after whitespace), without consuming it.
  std::string_view peek_identifier() {
    skip_ws();
    if (at_end() || !is_ident_start(src_[pos_])) return {};
    size_t end = pos_ + 1;
    while (end < src_.size() && is_ident_char(src_[end])) ++end;
    return src_.substr(pos_, end - pos_);
  }
  bool peek_word(std::string_view word) { return peek_identifier() == word; }
  bool accept_word(std::string_view word) {
    if (!peek_word(word)) return false;
    pos_ += word.size();
    return true;
  }
  std::string parse_identifier() {
    const std::string_view id = peek_identifier();
    pos_ += id.size();
    return std::string(id);
  }
  // "-" or "~" followed by a closing delimiter is whitespace control, not an operator.
  bool at_close_marker(size_t at) const {
    const std::string_view rest = src_.substr(at);
    return rest.starts_with("}}") || rest.starts_with("%}") || rest.starts_with("#}");
  }

  // ---- expressions ---------------------------------------------------------------------------

  ExprPtr parse_expression(bool allow_conditional = true) {
    DepthGuard guard(*this);
    if (guard.exceeded()) return too_deep();
    const size_t start = pos_;
    ExprPtr value = parse_or();
    if (!value || !allow_conditional || !accept_word("if")) return value;
    ExprPtr e = make(ExprKind::kConditional, start);
    ExprPtr condition = parse_or();
    if (!condition) return nullptr;
    ExprPtr otherwise;
    if (accept_word("else")) {
      otherwise = parse_expression();
      if (!otherwise) return nullptr;
    }
    if (!add(*e, std::move(value)) || !add(*e, std::move(condition)) ||
        !add(*e, std::move(otherwise))) {
      return nullptr;
    }
    return e;
  }

  ExprPtr binary(ExprKind kind, BinaryOp op, size_t offset, ExprPtr left, ExprPtr right) {
    if (!left || !right) return nullptr;
    ExprPtr e = make(kind, offset);
    e->op = op;
    if (!add(*e, std::move(left)) || !add(*e, std::move(right))) return nullptr;
    return e;
  }

  ExprPtr parse_or() {
    const size_t start = pos_;
    ExprPtr left = parse_and();
    while (left && accept_word("or")) {
      left = binary(ExprKind::kOr, BinaryOp::kAdd, start, std::move(left), parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    const size_t start = pos_;
    ExprPtr left = parse_not();
    while (left && accept_word("and")) {
      left = binary(ExprKind::kAnd, BinaryOp::kAdd, start, std::move(left), parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    DepthGuard guard(*this);
    if (guard.exceeded()) return too_deep();
    const size_t start = pos_;
    if (accept_word("not")) {
      ExprPtr operand = parse_not();
      if (!operand) return nullptr;
      ExprPtr e = make(ExprKind::kNot, start);
      if (!add(*e, std::move(operand))) return nullptr;
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const size_t start = pos_;
    ExprPtr left = parse_concat();
    while (left) {
      BinaryOp op;
      if (accept("==")) {
        op = BinaryOp::kEq;
      } else if (accept("!=")) {
        op = BinaryOp::kNe;
      } else if (accept("<=")) {
        op = BinaryOp::kLe;
      } else if (accept(">=")) {
        op = BinaryOp::kGe;
      } else if (accept("<")) {
        op = BinaryOp::kLt;
      } else if (accept(">")) {
        op = BinaryOp::kGt;
      } else if (accept_word("in")) {
        op = BinaryOp::kIn;
      } else if (peek_word("not")) {
        const size_t save = pos_;
        pos_ += 3;
        if (!accept_word("in")) {
          pos_ = save;
          break;
        }
        op = BinaryOp::kNotIn;
      } else {
        break;
      }
      left = binary(ExprKind::kBinary, op, start, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    const size_t start = pos_;
    ExprPtr left = parse_additive();
    while (left && peek("~") && src_.substr(pos_ + 1, 1) != "}" && !at_close_marker(pos_ + 1)) {
      ++pos_;
      left = binary(ExprKind::kBinary, BinaryOp::kConcat, start, std::move(left), parse_additive());
    }
    return left;
  }

  ExprPtr parse_additive() {
    const size_t start = pos_;
    ExprPtr left = parse_multiplicative();
    while (left) {
      BinaryOp op;
      if (peek("+")) {
        op = BinaryOp::kAdd;
      } else if (peek("-") && !at_close_marker(pos_ + 1)) {
        op = BinaryOp::kSub;
      } else {
        break;
      }
      ++pos_;
      left = binary(ExprKind::kBinary, op, start, std::move(left), parse_multiplicative());
    }
    return left;
  }

  ExprPtr parse_multiplicative() {
    const size_t start = pos_;
    ExprPtr left = parse_pow();
    while (left) {
      BinaryOp op;
      if (peek("**")) {
        break;
      } else if (accept("*")) {
        op = BinaryOp::kMul;
      } else if (accept("//")) {
        op = BinaryOp::kFloorDiv;
      } else if (accept("/")) {
        op = BinaryOp::kDiv;
      } else if (peek("%") && !at_close_marker(pos_)) {
        ++pos_;
        op = BinaryOp::kMod;
      } else {
        break;
      }
      left = binary(ExprKind::kBinary, op, start, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    const size_t start = pos_;
    ExprPtr left = parse_unary(true);
    while (left && accept("**")) {
      left = binary(ExprKind::kBinary, BinaryOp::kPow, start, std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    if (guard.exceeded()) return too_deep();
    const size_t start = pos_;
    ExprPtr node;
    if (peek("-") && !at_close_marker(pos_ + 1)) {
      ++pos_;
      ExprPtr operand = parse_unary(false);
      if (!operand) return nullptr;
      node = make(ExprKind::kNegate, start);
      if (!add(*node, std::move(operand))) return nullptr;
    } else if (accept("+")) {
      ExprPtr operand = parse_unary(false);
      if (!operand) return nullptr;
      node = make(ExprKind::kPlus, start);
      if (!add(*node, std::move(operand))) return nullptr;
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filters_and_tests(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    skip_ws();
    const size_t start = pos_;
    if (at_end()) return fail("unexpected end of template, expected an expression");
    const char c = src_[pos_];
    if (c == '"' || c == '\'') {
      std::string value;
      // Adjacent literals concatenate ("a" "b").
      while (peek("\"") || peek("'")) {
        if (!parse_string(value)) return nullptr;
      }
      ExprPtr e = make(ExprKind::kLiteral, start);
      e->literal = Value::string(std::move(value));
      return e;
    }
    if (is_digit(c)) return parse_number();
    if (is_ident_start(c)) {
      const std::string name = parse_identifier();
      ExprPtr e = make(ExprKind::kLiteral, start);
      if (name == "true" || name == "True") {
        e->literal = Value::boolean(true);
      } else if (name == "false" || name == "False") {
        e->literal = Value::boolean(false);
      } else if (name == "none" || name == "None" || name == "null") {
        e->literal = Value();
      } else if (is_keyword(name)) {
        pos_ = start;
        return fail("unexpected '" + name + "', expected an expression");
      } else {
        e->kind = ExprKind::kVariable;
        e->name = name;
      }
      return e;
    }
    if (c == '(') {
      ++pos_;
      ExprPtr list = make(ExprKind::kList, start);
      if (accept(")")) return list;  // empty tuple
      ExprPtr first = parse_expression();
      if (!first) return nullptr;
      if (accept(")")) return first;  // parenthesized expression
      if (!add(*list, std::move(first))) return nullptr;
      while (accept(",")) {
        if (peek(")")) break;
        ExprPtr item = parse_expression();
        if (!item || !add(*list, std::move(item))) return nullptr;
      }
      if (!accept(")")) return fail("expected ')' or ',' in a tuple");
      return list;
    }
    if (c == '[') {
      ++pos_;
      ExprPtr list = make(ExprKind::kList, start);
      while (!accept("]")) {
        ExprPtr item = parse_expression();
        if (!item || !add(*list, std::move(item))) return nullptr;
        if (!accept(",") && !peek("]")) return fail("expected ',' or ']' in a list");
      }
      return list;
    }
    if (c == '{') {
      ++pos_;
      ExprPtr dict = make(ExprKind::kDict, start);
      while (!accept("}")) {
        ExprPtr key = parse_expression();
        if (!key) return nullptr;
        if (!accept(":")) return fail("expected ':' after a dict key");
        ExprPtr value = parse_expression();
        if (!value || !add(*dict, std::move(key)) || !add(*dict, std::move(value))) return nullptr;
        if (!accept(",") && !peek("}")) return fail("expected ',' or '}' in a dict");
      }
      return dict;
    }
    return fail(std::string("unexpected '") + c + "', expected an expression");
  }

  // A quoted string at the cursor, appended to `out`. Escapes as in Python.
  bool parse_string(std::string& out) {
    const char quote = src_[pos_];
    const size_t start = pos_;
    ++pos_;
    while (pos_ < src_.size()) {
      const char c = src_[pos_++];
      if (c == quote) return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= src_.size()) break;
      const char e = src_[pos_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '0':
          out += '\0';
          break;
        case '\\':
        case '\'':
        case '"':
          out += e;
          break;
        case '\n':  // line continuation
          break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          const char* first = src_.data() + pos_;
          if (pos_ + digits > src_.size() ||
              std::from_chars(first, first + digits, cp, 16).ptr != first + digits) {
            pos_ = start;
            fail(std::string("bad \\") + e + " escape in a string literal");
            return false;
          }
          pos_ += digits;
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
          append_utf8(out, cp);
          break;
        }
        default:  // unknown escapes keep their backslash, as in Python
          out += '\\';
          out += e;
          break;
      }
    }
    pos_ = start;
    fail("unterminated string literal");
    return false;
  }

  ExprPtr parse_number() {
    const size_t start = pos_;
    size_t end = pos_;
    while (end < src_.size() && is_digit(src_[end])) ++end;
    bool is_float = false;
    if (end + 1 < src_.size() && src_[end] == '.' && is_digit(src_[end + 1])) {
      is_float = true;
      ++end;
      while (end < src_.size() && is_digit(src_[end])) ++end;
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t k = end + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && is_digit(src_[k])) {
        is_float = true;
        end = k;
        while (end < src_.size() && is_digit(src_[end])) ++end;
      }
    }
    ExprPtr e = make(ExprKind::kLiteral, start);
    const char* first = src_.data() + start;
    const char* last = src_.data() + end;
    if (is_float) {
      double v = 0;
      const auto r = std::from_chars(first, last, v);
      if (r.ec != std::errc() || r.ptr != last) return fail("bad number literal");
      e->literal = Value::number(v);
    } else {
      int64_t v = 0;
      const auto r = std::from_chars(first, last, v);
      if (r.ec != std::errc() || r.ptr != last) return fail("integer literal out of range");
      e->literal = Value::integer(v);
    }
    pos_ = end;
    return e;
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (node) {
      const size_t start = pos_;
      if (peek(".")) {
        ++pos_;
        skip_ws();
        if (!at_end() && is_digit(src_[pos_])) {  // x.0 is x[0]
          ExprPtr index = parse_number();
          if (!index) return nullptr;
          ExprPtr e = make(ExprKind::kItem, start);
          if (!add(*e, std::move(node)) || !add(*e, std::move(index))) return nullptr;
          node = std::move(e);
          continue;
        }
        const std::string name = parse_identifier();
        if (name.empty()) return fail("expected an attribute name after '.'");
        ExprPtr e = make(ExprKind::kAttribute, start);
        e->name = name;
        if (!add(*e, std::move(node))) return nullptr;
        node = std::move(e);
      } else if (peek("[")) {
        ++pos_;
        node = parse_subscript(std::move(node), start);
      } else if (peek("(")) {
        ++pos_;
        ExprPtr e = make(ExprKind::kCall, start);
        if (!add(*e, std::move(node)) || !parse_call_args(*e)) return nullptr;
        node = std::move(e);
      } else {
        break;
      }
    }
    return node;
  }

  ExprPtr parse_subscript(ExprPtr object, size_t start) {
    ExprPtr first;
    if (!peek(":")) {
      first = parse_expression();
      if (!first) return nullptr;
    }
    if (!accept(":")) {
      if (!first) return fail("empty subscript");
      if (!accept("]")) return fail("expected ']'");
      ExprPtr e = make(ExprKind::kItem, start);
      if (!add(*e, std::move(object)) || !add(*e, std::move(first))) return nullptr;
      return e;
    }
    ExprPtr stop;
    ExprPtr step;
    if (!peek(":") && !peek("]")) {
      stop = parse_expression();
      if (!stop) return nullptr;
    }
    if (accept(":") && !peek("]")) {
      step = parse_expression();
      if (!step) return nullptr;
    }
    if (!accept("]")) return fail("expected ']' after a slice");
    ExprPtr e = make(ExprKind::kSlice, start);
    if (!add(*e, std::move(object)) || !add(*e, std::move(first)) || !add(*e, std::move(stop)) ||
        !add(*e, std::move(step))) {
      return nullptr;
    }
    return e;
  }

  // Arguments after "(" up to and including ")", appended to e (operands and arg_names).
  bool parse_call_args(Expr& e) {
    while (!accept(")")) {
      if (peek("*")) {
        fail("*args and **kwargs are not supported");
        return false;
      }
      std::string name;
      const std::string_view id = peek_identifier();
      if (!id.empty()) {
        size_t after = pos_ + id.size();
        while (after < src_.size() && is_space(src_[after])) ++after;
        if (after < src_.size() && src_[after] == '=' &&
            (after + 1 >= src_.size() || src_[after + 1] != '=')) {
          name = std::string(id);
          pos_ = after + 1;
        }
      }
      ExprPtr value = parse_expression();
      if (!value || !add(e, std::move(value))) return false;
      e.arg_names.push_back(std::move(name));
      if (!accept(",") && !peek(")")) {
        fail("expected ',' or ')' in call arguments");
        return false;
      }
    }
    return true;
  }

  ExprPtr parse_filters_and_tests(ExprPtr node) {
    while (node) {
      const size_t start = pos_;
      if (peek("|")) {
        ++pos_;
        node = parse_filter_call(std::move(node), start);
      } else if (peek_word("is")) {
        pos_ += 2;
        ExprPtr e = make(ExprKind::kTest, start);
        e->negated = accept_word("not");
        e->name = parse_identifier();
        if (e->name.empty()) return fail("expected a test name after 'is'");
        if (!add(*e, std::move(node))) return nullptr;
        if (peek("(")) {
          ++pos_;
          if (!parse_call_args(*e)) return nullptr;
        } else if (starts_test_argument()) {
          // `x is divisibleby 3`, `x is equalto "y"`: one argument without parentheses.
          ExprPtr argument = parse_postfix(parse_primary());
          if (!argument || !add(*e, std::move(argument))) return nullptr;
          e->arg_names.emplace_back();
        }
        node = std::move(e);
      } else {
        break;
      }
    }
    return node;
  }

  bool starts_test_argument() {
    skip_ws();
    if (at_end()) return false;
    const char c = src_[pos_];
    if (is_digit(c) || c == '"' || c == '\'') return true;
    const std::string_view id = peek_identifier();
    return !id.empty() && !is_keyword(id);
  }

  // `name` or `name(args)` applied to `input`.
  ExprPtr parse_filter_call(ExprPtr input, size_t start) {
    const std::string name = parse_identifier();
    if (name.empty()) return fail("expected a filter name after '|'");
    ExprPtr e = make(ExprKind::kFilter, start);
    e->name = name;
    if (!add(*e, std::move(input))) return nullptr;
    if (peek("(")) {
      ++pos_;
      if (!parse_call_args(*e)) return nullptr;
    }
    return e;
  }

  // ---- tokens --------------------------------------------------------------------------------

  // Parses the closing delimiter of a tag: optional whitespace, optional "-" / "~", `close`.
  Status parse_close(Token& token, std::string_view close) {
    skip_ws();
    if (!at_end() && (src_[pos_] == '-' || src_[pos_] == '~')) {
      token.strip_after = src_[pos_] == '-';
      ++pos_;
    }
    if (!src_.substr(pos_).starts_with(close)) {
      return error_at(pos_, "expected '" + std::string(close) + "'");
    }
    pos_ += close.size();
    return ok_status();
  }

  Status tokenize() {
    while (!at_end()) {
      const size_t start = pos_;
      const std::string_view rest = src_.substr(pos_);
      if (rest.starts_with("{#")) {
        const size_t close = src_.find("#}", pos_ + 2);
        if (close == std::string_view::npos) return error_at(start, "unterminated comment");
        Token token;
        token.type = Token::Type::kComment;
        token.offset = start;
        token.strip_before = pos_ + 2 < src_.size() && src_[pos_ + 2] == '-';
        token.strip_after = close >= pos_ + 3 && src_[close - 1] == '-';
        pos_ = close + 2;
        tokens_.push_back(std::move(token));
      } else if (rest.starts_with("{{")) {
        Token token;
        token.type = Token::Type::kOutput;
        token.offset = start;
        pos_ += 2;
        if (!at_end() && (src_[pos_] == '-' || src_[pos_] == '~')) {
          token.strip_before = src_[pos_] == '-';
          ++pos_;
        }
        ExprPtr e = parse_expression();
        if (!e) return status_;
        QUIRE_RETURN_IF_ERROR(parse_close(token, "}}"));
        token.stmt = std::make_unique<Stmt>();
        token.stmt->kind = StmtKind::kOutput;
        token.stmt->pos = pos_at(start);
        token.stmt->exprs.push_back(std::move(e));
        tokens_.push_back(std::move(token));
      } else if (rest.starts_with("{%")) {
        Token token;
        token.type = Token::Type::kTag;
        token.offset = start;
        pos_ += 2;
        if (!at_end() && (src_[pos_] == '-' || src_[pos_] == '~')) {
          token.strip_before = src_[pos_] == '-';
          ++pos_;
        }
        QUIRE_RETURN_IF_ERROR(parse_tag(token));
        QUIRE_RETURN_IF_ERROR(parse_close(token, "%}"));
        tokens_.push_back(std::move(token));
      } else {
        size_t end = pos_;
        while (true) {
          end = src_.find('{', end);
          if (end == std::string_view::npos) {
            end = src_.size();
            break;
          }
          if (end + 1 < src_.size() &&
              (src_[end + 1] == '{' || src_[end + 1] == '%' || src_[end + 1] == '#')) {
            break;
          }
          ++end;
        }
        Token token;
        token.type = Token::Type::kText;
        token.offset = start;
        token.text = std::string(src_.substr(pos_, end - pos_));
        pos_ = end;
        tokens_.push_back(std::move(token));
      }
    }
    return ok_status();
  }

  // Loop variables / set targets: `a` or `a, b` (optionally in parentheses).
  Status parse_names(std::vector<std::string>& names) {
    const bool parenthesized = accept("(");
    do {
      std::string name = parse_identifier();
      if (name.empty() || is_keyword(name)) return error_at(pos_, "expected a variable name");
      names.push_back(std::move(name));
    } while (accept(","));
    if (parenthesized && !accept(")")) return error_at(pos_, "expected ')'");
    return ok_status();
  }

  // The statement header after "{%": keyword and arguments, up to the closing delimiter.
  Status parse_tag(Token& token) {
    skip_ws();
    const size_t keyword_at = pos_;
    token.keyword = parse_identifier();
    const std::string& keyword = token.keyword;
    auto stmt = std::make_unique<Stmt>();
    stmt->pos = pos_at(token.offset);
    const auto expression = [&](bool allow_conditional) -> Status {
      ExprPtr e = parse_expression(allow_conditional);
      if (!e) return status_;
      stmt->exprs.push_back(std::move(e));
      return ok_status();
    };

    if (keyword == "if" || keyword == "elif") {
      stmt->kind = StmtKind::kIf;
      QUIRE_RETURN_IF_ERROR(expression(true));
    } else if (keyword == "for") {
      stmt->kind = StmtKind::kFor;
      QUIRE_RETURN_IF_ERROR(parse_names(stmt->names));
      if (!accept_word("in")) return error_at(pos_, "expected 'in' in a for loop");
      QUIRE_RETURN_IF_ERROR(expression(false));
      if (accept_word("if")) {
        QUIRE_RETURN_IF_ERROR(expression(true));
      } else {
        stmt->exprs.push_back(nullptr);
      }
      if (peek_word("recursive")) return error_at(pos_, "recursive loops are not supported");
    } else if (keyword == "set") {
      const size_t name_at = pos_;
      std::string first = parse_identifier();
      if (first.empty() || is_keyword(first)) return error_at(pos_, "expected a variable name");
      if (accept(".")) {
        stmt->kind = StmtKind::kSetAttr;
        std::string attribute = parse_identifier();
        if (attribute.empty()) return error_at(pos_, "expected an attribute name");
        stmt->names = {std::move(first), std::move(attribute)};
        if (!accept("=")) return error_at(pos_, "expected '='");
        QUIRE_RETURN_IF_ERROR(expression(true));
      } else {
        pos_ = name_at;
        QUIRE_RETURN_IF_ERROR(parse_names(stmt->names));
        if (peek("=") && !peek("==")) {
          ++pos_;
          stmt->kind = StmtKind::kSet;
          QUIRE_RETURN_IF_ERROR(expression(true));
        } else {
          if (stmt->names.size() != 1) {
            return error_at(pos_, "a block set takes exactly one variable");
          }
          stmt->kind = StmtKind::kSetBlock;
        }
      }
    } else if (keyword == "macro") {
      stmt->kind = StmtKind::kMacro;
      std::string name = parse_identifier();
      if (name.empty()) return error_at(pos_, "expected a macro name");
      stmt->names.push_back(std::move(name));
      if (!accept("(")) return error_at(pos_, "expected '(' after the macro name");
      while (!accept(")")) {
        std::string parameter = parse_identifier();
        if (parameter.empty() || is_keyword(parameter)) {
          return error_at(pos_, "expected a parameter name");
        }
        stmt->names.push_back(std::move(parameter));
        if (accept("=")) {
          QUIRE_RETURN_IF_ERROR(expression(true));
        } else {
          stmt->exprs.push_back(nullptr);
        }
        if (!accept(",") && !peek(")")) return error_at(pos_, "expected ',' or ')'");
      }
    } else if (keyword == "filter") {
      stmt->kind = StmtKind::kFilterBlock;
      ExprPtr chain = make(ExprKind::kVariable, pos_);
      chain->name = kBlockInput;
      do {
        chain = parse_filter_call(std::move(chain), pos_);
        if (!chain) return status_;
      } while (accept("|"));
      stmt->exprs.push_back(std::move(chain));
    } else if (keyword == "break") {
      stmt->kind = StmtKind::kBreak;
    } else if (keyword == "continue") {
      stmt->kind = StmtKind::kContinue;
    } else if (keyword == "else" || keyword == "endif" || keyword == "endfor" ||
               keyword == "endset" || keyword == "endmacro" || keyword == "endfilter" ||
               keyword == "generation" || keyword == "endgeneration") {
      // No arguments; the tree builder gives them their meaning.
    } else if (keyword.empty()) {
      return error_at(keyword_at, "expected a statement keyword after '{%'");
    } else if (keyword == "raw" || keyword == "extends" || keyword == "block" ||
               keyword == "include" || keyword == "import" || keyword == "from" ||
               keyword == "call" || keyword == "with" || keyword == "autoescape" ||
               keyword == "do") {
      return error_at(keyword_at, "unsupported statement '" + keyword + "'");
    } else {
      return error_at(keyword_at, "unknown statement '" + keyword + "'");
    }
    token.stmt = std::move(stmt);
    return ok_status();
  }

  // ---- whitespace control (minja's rules, see jinja.h) ---------------------------------------

  static void strip_trailing(std::string& s) {
    size_t end = s.size();
    while (end > 0 && is_space(s[end - 1])) --end;
    s.resize(end);
  }
  static void strip_leading(std::string& s) {
    size_t begin = 0;
    while (begin < s.size() && is_space(s[begin])) ++begin;
    s.erase(0, begin);
  }

  void apply_whitespace_control() {
    const size_t n = tokens_.size();
    for (size_t i = 0; i < n; ++i) {
      Token& token = tokens_[i];
      if (token.type != Token::Type::kText) continue;
      std::string& text = token.text;
      const Token* prev = i > 0 ? &tokens_[i - 1] : nullptr;
      const Token* next = i + 1 < n ? &tokens_[i + 1] : nullptr;
      if (next != nullptr && next->strip_before) {
        strip_trailing(text);
      } else if (options_.lstrip_blocks && next != nullptr) {
        size_t end = text.size();
        while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
        if ((end == 0 && i == 0) || (end > 0 && text[end - 1] == '\n')) text.resize(end);
      }
      if (prev != nullptr && prev->strip_after) {
        strip_leading(text);
      } else if (options_.trim_blocks && prev != nullptr && prev->type != Token::Type::kOutput) {
        if (!text.empty() && text[0] == '\n') text.erase(0, 1);
      }
      if (next == nullptr && !options_.keep_trailing_newline && !text.empty() &&
          text.back() == '\n') {
        text.pop_back();
        if (!text.empty() && text.back() == '\r') text.pop_back();
      }
    }
  }

  // ---- statement tree ------------------------------------------------------------------------

  static bool is_closing(std::string_view keyword) {
    return keyword == "elif" || keyword == "else" || keyword == "endif" || keyword == "endfor" ||
           keyword == "endset" || keyword == "endmacro" || keyword == "endfilter" ||
           keyword == "endgeneration";
  }

  // Statements from tokens_[i] up to a tag whose keyword is in `stop` (left unconsumed). With
  // a non-empty `stop`, reaching the end is an error (the caller's block is unclosed).
  Status build(size_t& i, Body& out, std::initializer_list<std::string_view> stop, int nesting,
               int loop_depth) {
    if (nesting > options_.max_nesting) {
      return resource_exhausted_error("jinja: statements nested deeper than " +
                                      std::to_string(options_.max_nesting) + " levels");
    }
    while (i < tokens_.size()) {
      Token& token = tokens_[i];
      switch (token.type) {
        case Token::Type::kComment:
          ++i;
          continue;
        case Token::Type::kText:
          if (!token.text.empty()) {
            auto text = std::make_unique<Stmt>();
            text->kind = StmtKind::kText;
            text->pos = pos_at(token.offset);
            text->text = std::move(token.text);
            out.push_back(std::move(text));
          }
          ++i;
          continue;
        case Token::Type::kOutput:
          out.push_back(std::move(token.stmt));
          ++i;
          continue;
        case Token::Type::kTag:
          break;
      }
      const std::string keyword = token.keyword;
      if (std::find(stop.begin(), stop.end(), keyword) != stop.end()) return ok_status();
      if (is_closing(keyword)) return error_at(token.offset, "unexpected '" + keyword + "'");
      const size_t opened_at = token.offset;
      const auto expect_end = [&](std::string_view end) -> Status {
        if (i >= tokens_.size()) {
          return error_at(opened_at,
                          "'" + keyword + "' is not closed (expected '" + std::string(end) + "')");
        }
        ++i;
        return ok_status();
      };
      std::unique_ptr<Stmt> stmt = std::move(token.stmt);
      ++i;
      switch (stmt->kind) {
        case StmtKind::kIf: {
          if (keyword != "if") return error_at(opened_at, "unexpected '" + keyword + "'");
          stmt->bodies.emplace_back();
          QUIRE_RETURN_IF_ERROR(
              build(i, stmt->bodies.back(), {"elif", "else", "endif"}, nesting + 1, loop_depth));
          while (i < tokens_.size() && tokens_[i].keyword == "elif") {
            stmt->exprs.push_back(std::move(tokens_[i].stmt->exprs[0]));
            ++i;
            stmt->bodies.emplace_back();
            QUIRE_RETURN_IF_ERROR(
                build(i, stmt->bodies.back(), {"elif", "else", "endif"}, nesting + 1, loop_depth));
          }
          if (i < tokens_.size() && tokens_[i].keyword == "else") {
            ++i;
            stmt->exprs.push_back(nullptr);
            stmt->bodies.emplace_back();
            QUIRE_RETURN_IF_ERROR(
                build(i, stmt->bodies.back(), {"endif"}, nesting + 1, loop_depth));
          }
          QUIRE_RETURN_IF_ERROR(expect_end("endif"));
          break;
        }
        case StmtKind::kFor:
          stmt->bodies.resize(2);
          QUIRE_RETURN_IF_ERROR(
              build(i, stmt->bodies[0], {"else", "endfor"}, nesting + 1, loop_depth + 1));
          if (i < tokens_.size() && tokens_[i].keyword == "else") {
            ++i;
            QUIRE_RETURN_IF_ERROR(build(i, stmt->bodies[1], {"endfor"}, nesting + 1, loop_depth));
          }
          QUIRE_RETURN_IF_ERROR(expect_end("endfor"));
          break;
        case StmtKind::kSetBlock:
          stmt->bodies.resize(1);
          QUIRE_RETURN_IF_ERROR(build(i, stmt->bodies[0], {"endset"}, nesting + 1, loop_depth));
          QUIRE_RETURN_IF_ERROR(expect_end("endset"));
          break;
        case StmtKind::kMacro:
          stmt->bodies.resize(1);
          // A macro body is a new function: break/continue cannot reach an outer loop.
          QUIRE_RETURN_IF_ERROR(build(i, stmt->bodies[0], {"endmacro"}, nesting + 1, 0));
          QUIRE_RETURN_IF_ERROR(expect_end("endmacro"));
          break;
        case StmtKind::kFilterBlock:
          stmt->bodies.resize(1);
          QUIRE_RETURN_IF_ERROR(build(i, stmt->bodies[0], {"endfilter"}, nesting + 1, loop_depth));
          QUIRE_RETURN_IF_ERROR(expect_end("endfilter"));
          break;
        case StmtKind::kBreak:
        case StmtKind::kContinue:
          if (loop_depth == 0) {
            return error_at(opened_at, "'" + keyword + "' outside a for loop");
          }
          break;
        default:
          if (keyword == "generation") {
            // Marks generated text for training masks; rendered as its body.
            QUIRE_RETURN_IF_ERROR(build(i, out, {"endgeneration"}, nesting + 1, loop_depth));
            QUIRE_RETURN_IF_ERROR(expect_end("endgeneration"));
            continue;
          }
          break;
      }
      out.push_back(std::move(stmt));
    }
    if (stop.size() != 0) {
      return error_at(src_.size(), "unexpected end of template, expected '{% " +
                                       std::string(*(stop.end() - 1)) + " %}'");
    }
    return ok_status();
  }

  std::string_view src_;
  ParseOptions options_;
  std::vector<size_t> line_starts_;
  size_t pos_ = 0;
  int depth_ = 0;
  Status status_;
  std::vector<Token> tokens_;
};

}  // namespace

Result<Template> Template::parse(std::string_view source, const ParseOptions& options) {
  Parser parser(source, options);
  Result<std::shared_ptr<Program>> program = parser.run();
  if (!program.ok()) return program.status();
  return Template(std::move(program).value());
}

}  // namespace quire::engine::jinja
