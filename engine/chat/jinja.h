// A small Jinja interpreter for chat templates (tokenizer.chat_template), written to render
// like llama.cpp's minja (the engine behind `--jinja`), which follows Python Jinja2 with a few
// simplifications.
//
// Supported:
//  * Text with {{ expression }}, {% statement %}, {# comment #}; whitespace control with "-" on
//    either side of a tag; trim_blocks (the first newline after a statement or comment tag is
//    dropped), lstrip_blocks (spaces and tabs between a line start and a tag are dropped; like
//    minja this applies before {{ too), and a single trailing newline of the template dropped
//    (keep_trailing_newline off). These are the settings of HF transformers and llama.cpp.
//  * Statements: if / elif / else, for (with `for a, b in ...`, an `if` filter, `else`, and
//    loop.index, index0, revindex, revindex0, first, last, length, previtem, nextitem,
//    cycle()), break, continue, set (`set x = ...`, `set a, b = ...`, `set ns.attr = ...`,
//    block `set x %}...{% endset`), macro (parameters with defaults, called like functions,
//    returning their rendered text), filter blocks, generation (rendered as is).
//  * Expressions: literals (strings with Python's escapes \n \t \r \b \f \v \0 \\ \' \" \xXX
//    \uXXXX \UXXXXXXXX, integers, floats, true/false/none in both cases, lists, tuples, dicts),
//    variables, attribute and item access,
//    slices [a:b:c], calls with positional and keyword arguments, `|` filters, `is [not]` tests,
//    `not`, `and`, `or`, `x if c else y`, == != < <= > >=, in / not in, + - * / // % ** ~.
//  * Filters: abs, capitalize, count, default (d), dictsort, escape (e), first, float, indent,
//    int, items, join, last, length, list, lower, map (attribute= or a filter name), reject,
//    rejectattr, replace, reverse, safe, select, selectattr, sort, string, sum, title, tojson
//    (indent=, ensure_ascii=), trim, unique, upper. Tests: boolean, callable, defined,
//    divisibleby, eq / equalto / ==, ne / !=, lt / le / gt / ge (and < <= > >=), even, false,
//    float, in, integer, iterable, lower, mapping, none, number, odd, sameas, sequence, string,
//    true, undefined, upper. Globals: namespace(), dict(), range(), raise_exception(), joiner(),
//    strftime_now() (when the render is given a time). Methods: str.strip / lstrip / rstrip /
//    split / startswith / endswith / upper / lower / title / capitalize / replace / find /
//    join; list.append / extend / pop / insert; dict.items / keys / values / get / pop.
//
// Semantics shared with minja where Python Jinja2 differs: an undefined variable is the same
// value as none (`is defined` is false for both, printing either gives ""); `+` with a string
// on either side concatenates their string forms ("None" for none, "True"/"False", floats as
// printf("%f")); `and` gives a bool; attribute or item access on none is an error, and so is
// an index out of range; printing a list or dict gives minja's repr ('quoted' strings, True,
// null). Where minja has plain bugs the Python behaviour is kept: `in` on strings is a
// substring test, strings are indexed, sliced, iterated and measured by code point, slices
// clamp, `/` is true division, tojson is json.dumps (ensure_ascii off, "[]" for an empty list,
// indent=0 still breaks lines), indent leaves blank lines alone.
//
// Not supported (a parse error names the construct): extends / block / include / import / from,
// call, with, autoescape, do, raw, recursive loops, *args / **kwargs.
//
// Robustness: a template is data from a model file, so nothing it does may crash or hang the
// process. Parsing is bounded by the nesting depth; rendering by Limits (steps, depth, sizes),
// whose excess is kResourceExhausted. Errors carry the line and column of the construct.
//
// A parsed Template is immutable and may be rendered from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "engine/core/status.h"

namespace quire::engine::jinja {

// JSON-like data passed into a render (the variables of the template).
class Data {
 public:
  using Array = std::vector<Data>;
  using Object = std::vector<std::pair<std::string, Data>>;  // insertion order is kept

  Data() = default;  // none
  explicit Data(bool v) : value_(v) {}
  explicit Data(int64_t v) : value_(v) {}
  explicit Data(double v) : value_(v) {}
  explicit Data(std::string v) : value_(std::move(v)) {}
  explicit Data(const char* v) : value_(std::string(v)) {}
  explicit Data(Array v) : value_(std::move(v)) {}
  explicit Data(Object v) : value_(std::move(v)) {}

  using Variant = std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object>;
  const Variant& variant() const { return value_; }

 private:
  Variant value_;
};

struct ParseOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
  // Deepest nesting of statements plus expressions the parser accepts.
  int max_nesting = 200;
};

struct Limits {
  int64_t max_steps = 2'000'000;               // statements run + expressions evaluated
  int max_depth = 500;                         // nested evaluation frames (macro calls included)
  size_t max_output_bytes = size_t{16} << 20;  // the rendered text
  size_t max_string_bytes = size_t{16} << 20;  // any one string value
  size_t max_items = size_t{1} << 20;          // list/dict entries created in one render
};

struct RenderOptions {
  Limits limits;
  // When set, strftime_now(format) is defined and formats this time (UTC, C locale).
  std::optional<std::chrono::system_clock::time_point> now;
};

struct Program;  // the parsed template (jinja_ast.h)

class Template {
 public:
  // kInvalidArgument for syntax errors ("jinja: <what> at line L, column C"); kResourceExhausted
  // when nesting exceeds options.max_nesting.
  static Result<Template> parse(std::string_view source, const ParseOptions& options = {});

  // Renders with `context` as the template's variables. Errors: raise_exception(msg) and run
  // time errors (type errors, undefined macros, ...) -> kInvalidArgument with the message and
  // position; limits exceeded -> kResourceExhausted.
  Result<std::string> render(const Data::Object& context, const RenderOptions& options = {}) const;

 private:
  explicit Template(std::shared_ptr<const Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const Program> program_;
};

}  // namespace quire::engine::jinja
