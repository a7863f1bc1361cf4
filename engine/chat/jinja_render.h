// The Jinja evaluator (internal to engine/chat): one Renderer per render call, holding the Heap,
// the variable scopes, the limits and their counters. jinja_render.cpp runs statements and
// expressions; jinja_builtins.cpp holds the filters, tests, methods and global functions.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/chat/jinja.h"
#include "engine/chat/jinja_ast.h"
#include "engine/chat/jinja_value.h"

namespace quire::engine::jinja {

// Variables of one level: the globals, the render context, a loop, a macro call.
struct Scope {
  Object vars;
  Scope* parent = nullptr;
};

class Renderer {
 public:
  explicit Renderer(const RenderOptions& options) : options_(options) {}
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  Result<std::string> run(const Program& program, const Data::Object& context);

  // ---- for the builtins ----------------------------------------------------------------------

  // "jinja: <message>" as kInvalidArgument (the position is added where the error surfaces).
  static Status error(const std::string& message);

  // Counts work against Limits::max_steps: 1 plus units/32 (units: elements or bytes/8 touched
  // by a bulk operation).
  Status charge(size_t units);
  // Fails when a string of `bytes` would exceed Limits::max_string_bytes.
  Status check_string(size_t bytes) const;
  // A new empty list or dict, counted against Limits::max_items when filled via these helpers.
  Value new_array();
  Value new_object();
  Status push(const Value& array, Value item);
  Status set(const Value& object, const std::string& key, Value item);
  Status count_items(size_t n);
  Result<Value> make_string(std::string s);
  Value make_callable(std::string name, NativeFunction function);

  // minja's to_str: strings as is, ints in decimal, floats as printf("%f"), True/False, "None",
  // lists and dicts as repr.
  Result<std::string> to_str(const Value& v);
  // Python-style repr as minja prints it ('quoted' strings, True/False, null for none).
  Status repr(const Value& v, std::string& out, int depth = 0);
  // JSON text as Python's json.dumps(v, indent=indent (< 0: none), ensure_ascii=...).
  Status to_json(const Value& v, int indent, bool ensure_ascii, std::string& out, int level = 0);
  // Deep equality (1 == 1.0; lists element-wise; dicts by keys and values).
  Result<bool> equals(const Value& a, const Value& b, int depth = 0);
  // -1, 0, 1 for two numbers or two strings; an error for other kinds.
  Result<int> compare(const Value& a, const Value& b);
  // `item in container`.
  Result<bool> contains(const Value& container, const Value& item);
  // Calls a callable Value.
  Result<Value> call(const Value& callee, CallArgs& args);
  // Runs the test `name` (as in `x is name(args)`).
  Result<bool> test(const std::string& name, const Value& v, CallArgs& args);
  // Applies the filter `name`.
  Result<Value> filter(const std::string& name, const Value& input, CallArgs& args);

  const RenderOptions& options() const { return options_; }

 private:
  enum class Control { kNone, kBreak, kContinue };

  Result<Scope*> new_scope(Scope* parent);  // counts against Limits::max_items
  Result<Value> from_data(const Data& data, int depth);
  // The innermost variable called `name`, or null.
  static const Value* lookup(const Scope* scope, const std::string& name);

  Status render_body(const Body& body, Scope* scope, std::string& out);
  Status render_stmt(const Stmt& stmt, Scope* scope, std::string& out);
  Status render_for(const Stmt& stmt, Scope* scope, std::string& out);
  Status append(std::string& out, std::string_view text);
  // Sets a variable of `scope`; a new name counts against Limits::max_items.
  Status set_variable(Scope* scope, const std::string& name, Value value);
  Status bind_names(const std::vector<std::string>& names, const Value& item, Scope* scope);
  Result<Value> call_macro(const Stmt& macro, Scope* definition, CallArgs& args);

  Result<Value> eval(const Expr& e, Scope* scope);
  Result<Value> eval_inner(const Expr& e, Scope* scope);
  Result<Value> eval_binary(BinaryOp op, const Value& l, const Value& r);
  Result<Value> eval_call(const Expr& e, Scope* scope);
  Status eval_args(const Expr& e, size_t first, Scope* scope, CallArgs& args);
  Result<Value> attribute(const Value& object, const std::string& name);
  Result<Value> item(const Value& object, const Value& index);
  Result<Value> slice(const Value& object, const Value& start, const Value& stop,
                      const Value& step);
  // Adds " at line L, column C" to the first error on its way out.
  Status positioned(Status status, const SourcePos& pos);

  // Bounds recursion (statements, expressions, macro calls).
  struct DepthGuard {
    explicit DepthGuard(Renderer& r) : renderer(r) { ++renderer.depth_; }
    ~DepthGuard() { --renderer.depth_; }
    Renderer& renderer;
  };
  Status check_depth() const;

  RenderOptions options_;
  Heap heap_;
  std::deque<Scope> scopes_;
  int64_t steps_ = 0;
  size_t items_ = 0;
  int depth_ = 0;
  Control control_ = Control::kNone;
  bool error_positioned_ = false;
};

// ---- jinja_builtins.cpp --------------------------------------------------------------------

// Adds namespace, range, raise_exception, dict, joiner and (with a time) strftime_now.
void install_globals(Renderer& renderer, Object& globals);
// A method of a string, list or dict: nullopt when `object` has no such method.
std::optional<Result<Value>> call_method(Renderer& renderer, const Value& object,
                                         const std::string& name, CallArgs& args);
Result<Value> apply_filter(Renderer& renderer, const std::string& name, const Value& input,
                           CallArgs& args);
Result<bool> apply_test(Renderer& renderer, const std::string& name, const Value& v,
                        CallArgs& args);

}  // namespace quire::engine::jinja
