#include "engine/chat/jinja_render.h"

#include <cmath>
#include <limits>
#include <utility>

namespace quire::engine::jinja {
namespace {

const char* op_text(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kFloorDiv:
      return "//";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "**";
    case BinaryOp::kConcat:
      return "~";
    case BinaryOp::kEq:
      return "==";
    case BinaryOp::kNe:
      return "!=";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kLe:
      return "<=";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kGe:
      return ">=";
    case BinaryOp::kIn:
      return "in";
    case BinaryOp::kNotIn:
      return "not in";
  }
  return "?";
}

// minja's quoting of strings inside printed lists and dicts: the JSON form, with single quotes
// unless the text contains one.
void repr_string(std::string_view s, std::string& out) {
  const std::string json = json_quote(s, false);
  if (s.find('\'') != std::string_view::npos) {
    out += json;
    return;
  }
  out += '\'';
  for (size_t i = 1; i + 1 < json.size(); ++i) {
    if (json[i] == '\\' && json[i + 1] == '"') {
      out += '"';
      ++i;
    } else {
      out += json[i];
    }
  }
  out += '\'';
}

// Python's floor division and modulo on integers (b != 0, no INT64_MIN / -1).
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
int64_t floor_mod(int64_t a, int64_t b) {
  int64_t m = a % b;
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

constexpr int kMaxDataDepth = 256;
constexpr int kMaxValueDepth = 128;

}  // namespace

// ---- Template::render ------------------------------------------------------------------------

Result<std::string> Template::render(const Data::Object& context,
                                     const RenderOptions& options) const {
  Renderer renderer(options);
  return renderer.run(*program_, context);
}

Result<std::string> Renderer::run(const Program& program, const Data::Object& context) {
  QUIRE_ASSIGN_OR_RETURN(Scope * globals, new_scope(nullptr));
  install_globals(*this, globals->vars);
  QUIRE_ASSIGN_OR_RETURN(Scope * top, new_scope(globals));
  for (const auto& [name, data] : context) {
    QUIRE_ASSIGN_OR_RETURN(Value value, from_data(data, 0));
    top->vars.set(name, std::move(value));
  }
  std::string out;
  QUIRE_RETURN_IF_ERROR(render_body(program.body, top, out));
  return out;
}

// ---- accounting --------------------------------------------------------------------------------

Status Renderer::error(const std::string& message) {
  return invalid_argument_error("jinja: " + message);
}

Status Renderer::charge(size_t units) {
  steps_ += 1 + static_cast<int64_t>(units / 32);
  if (steps_ > options_.limits.max_steps) {
    return resource_exhausted_error("jinja: the template ran more than " +
                                    std::to_string(options_.limits.max_steps) + " steps");
  }
  return ok_status();
}

Status Renderer::check_string(size_t bytes) const {
  if (bytes > options_.limits.max_string_bytes) {
    return resource_exhausted_error("jinja: a string of " + std::to_string(bytes) +
                                    " bytes exceeds the limit of " +
                                    std::to_string(options_.limits.max_string_bytes));
  }
  return ok_status();
}

Status Renderer::count_items(size_t n) {
  items_ += n;
  if (items_ > options_.limits.max_items) {
    return resource_exhausted_error("jinja: the template created more than " +
                                    std::to_string(options_.limits.max_items) +
                                    " list, dict or variable entries");
  }
  return ok_status();
}

Status Renderer::check_depth() const {
  if (depth_ > options_.limits.max_depth) {
    return resource_exhausted_error("jinja: evaluation nested deeper than " +
                                    std::to_string(options_.limits.max_depth) +
                                    " levels (runaway macro recursion?)");
  }
  return ok_status();
}

Value Renderer::new_array() {
  return Value::array(heap_.new_array());
}

Value Renderer::new_object() {
  return Value::object(heap_.new_object());
}

Status Renderer::push(const Value& array, Value item) {
  QUIRE_RETURN_IF_ERROR(count_items(1));
  array.as_array().items.push_back(std::move(item));
  return ok_status();
}

Status Renderer::set(const Value& object, const std::string& key, Value item) {
  if (object.as_object().find(key) == nullptr) QUIRE_RETURN_IF_ERROR(count_items(1));
  object.as_object().set(key, std::move(item));
  return ok_status();
}

Result<Value> Renderer::make_string(std::string s) {
  QUIRE_RETURN_IF_ERROR(check_string(s.size()));
  QUIRE_RETURN_IF_ERROR(charge(s.size() / 2));
  return Value::string(std::move(s));
}

Value Renderer::make_callable(std::string name, NativeFunction function) {
  return Value::callable(heap_.new_callable(std::move(name), std::move(function)));
}

Result<Scope*> Renderer::new_scope(Scope* parent) {
  QUIRE_RETURN_IF_ERROR(count_items(1));
  Scope& scope = scopes_.emplace_back();
  scope.parent = parent;
  return &scope;
}

const Value* Renderer::lookup(const Scope* scope, const std::string& name) {
  for (; scope != nullptr; scope = scope->parent) {
    const Value* v = scope->vars.find(name);
    if (v != nullptr) return v;
  }
  return nullptr;
}

Result<Value> Renderer::from_data(const Data& data, int depth) {
  if (depth > kMaxDataDepth) return error("input data nested deeper than 256 levels");
  QUIRE_RETURN_IF_ERROR(count_items(1));
  const Data::Variant& v = data.variant();
  switch (v.index()) {
    case 0:
      return Value();
    case 1:
      return Value::boolean(std::get<1>(v));
    case 2:
      return Value::integer(std::get<2>(v));
    case 3:
      return Value::number(std::get<3>(v));
    case 4:
      return Value::string(std::get<4>(v));
    case 5: {
      Value array = new_array();
      for (const Data& item : std::get<5>(v)) {
        QUIRE_ASSIGN_OR_RETURN(Value value, from_data(item, depth + 1));
        array.as_array().items.push_back(std::move(value));
      }
      return array;
    }
    default: {
      Value object = new_object();
      for (const auto& [key, item] : std::get<6>(v)) {
        QUIRE_ASSIGN_OR_RETURN(Value value, from_data(item, depth + 1));
        object.as_object().set(key, std::move(value));
      }
      return object;
    }
  }
}

Status Renderer::positioned(Status status, const SourcePos& pos) {
  if (status.ok() || error_positioned_) return status;
  error_positioned_ = true;
  return Status(status.code(), status.message() + " at line " + std::to_string(pos.line) +
                                   ", column " + std::to_string(pos.column));
}

// ---- conversions -------------------------------------------------------------------------------

Result<std::string> Renderer::to_str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kString:
      return v.as_string();
    case Value::Kind::kInt:
      return std::to_string(v.as_int());
    case Value::Kind::kFloat:
      return std::to_string(v.as_float());
    case Value::Kind::kBool:
      return std::string(v.as_bool() ? "True" : "False");
    case Value::Kind::kNone:
      return std::string("None");
    default: {
      std::string out;
      QUIRE_RETURN_IF_ERROR(repr(v, out));
      return out;
    }
  }
}

Status Renderer::repr(const Value& v, std::string& out, int depth) {
  if (depth > kMaxValueDepth) return error("value nested too deeply (or cyclic) to print");
  QUIRE_RETURN_IF_ERROR(charge(1));
  QUIRE_RETURN_IF_ERROR(check_string(out.size()));
  switch (v.kind()) {
    case Value::Kind::kNone:
      out += "null";
      return ok_status();
    case Value::Kind::kBool:
      out += v.as_bool() ? "True" : "False";
      return ok_status();
    case Value::Kind::kInt:
      out += std::to_string(v.as_int());
      return ok_status();
    case Value::Kind::kFloat:
      out += format_json_double(v.as_float());
      return ok_status();
    case Value::Kind::kString:
      QUIRE_RETURN_IF_ERROR(charge(v.as_string().size() / 2));
      repr_string(v.as_string(), out);
      return ok_status();
    case Value::Kind::kArray: {
      out += '[';
      bool first = true;
      for (const Value& item : v.as_array().items) {
        if (!first) out += ", ";
        first = false;
        QUIRE_RETURN_IF_ERROR(repr(item, out, depth + 1));
      }
      out += ']';
      return ok_status();
    }
    case Value::Kind::kObject: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.as_object().entries) {
        if (!first) out += ", ";
        first = false;
        repr_string(key, out);
        out += ": ";
        QUIRE_RETURN_IF_ERROR(repr(item, out, depth + 1));
      }
      out += '}';
      return ok_status();
    }
    case Value::Kind::kCallable:
      return error("cannot print the callable '" + v.as_callable().name + "'");
  }
  return ok_status();
}

Status Renderer::to_json(const Value& v, int indent, bool ensure_ascii, std::string& out,
                         int level) {
  if (level > kMaxValueDepth) return error("value nested too deeply (or cyclic) for tojson");
  QUIRE_RETURN_IF_ERROR(charge(1));
  QUIRE_RETURN_IF_ERROR(check_string(out.size()));
  const auto newline = [&](int at_level) {
    out += '\n';
    out.append(static_cast<size_t>(at_level) * static_cast<size_t>(indent), ' ');
  };
  switch (v.kind()) {
    case Value::Kind::kNone:
      out += "null";
      return ok_status();
    case Value::Kind::kBool:
      out += v.as_bool() ? "true" : "false";
      return ok_status();
    case Value::Kind::kInt:
      out += std::to_string(v.as_int());
      return ok_status();
    case Value::Kind::kFloat:
      out += format_json_double(v.as_float());
      return ok_status();
    case Value::Kind::kString:
      QUIRE_RETURN_IF_ERROR(charge(v.as_string().size() / 2));
      out += json_quote(v.as_string(), ensure_ascii);
      return ok_status();
    case Value::Kind::kArray: {
      const auto& items = v.as_array().items;
      if (items.empty()) {
        out += "[]";
        return ok_status();
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += indent < 0 ? ", " : ",";
        if (indent >= 0) newline(level + 1);
        QUIRE_RETURN_IF_ERROR(to_json(items[i], indent, ensure_ascii, out, level + 1));
      }
      if (indent >= 0) newline(level);
      out += ']';
      return ok_status();
    }
    case Value::Kind::kObject: {
      const auto& entries = v.as_object().entries;
      if (entries.empty()) {
        out += "{}";
        return ok_status();
      }
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += indent < 0 ? ", " : ",";
        if (indent >= 0) newline(level + 1);
        out += json_quote(entries[i].first, ensure_ascii);
        out += ": ";
        QUIRE_RETURN_IF_ERROR(to_json(entries[i].second, indent, ensure_ascii, out, level + 1));
      }
      if (indent >= 0) newline(level);
      out += '}';
      return ok_status();
    }
    case Value::Kind::kCallable:
      return error("cannot convert the callable '" + v.as_callable().name + "' to JSON");
  }
  return ok_status();
}

Result<bool> Renderer::equals(const Value& a, const Value& b, int depth) {
  if (depth > kMaxValueDepth) return error("values nested too deeply (or cyclic) to compare");
  QUIRE_RETURN_IF_ERROR(charge(1));
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    return a.to_double() == b.to_double();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kBool:
      return a.as_bool() == b.as_bool();
    case Value::Kind::kString:
      return a.as_string() == b.as_string();
    case Value::Kind::kArray: {
      const auto& x = a.as_array().items;
      const auto& y = b.as_array().items;
      if (&x == &y) return true;
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        QUIRE_ASSIGN_OR_RETURN(const bool same, equals(x[i], y[i], depth + 1));
        if (!same) return false;
      }
      return true;
    }
    case Value::Kind::kObject: {
      const Object& x = a.as_object();
      const Object& y = b.as_object();
      if (&x == &y) return true;
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [key, value] : x.entries) {
        const Value* other = y.find(key);
        if (other == nullptr) return false;
        QUIRE_ASSIGN_OR_RETURN(const bool same, equals(value, *other, depth + 1));
        if (!same) return false;
      }
      return true;
    }
    case Value::Kind::kCallable:
      return &a.as_callable() == &b.as_callable();
    default:
      return false;
  }
}

Result<int> Renderer::compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
    const double x = a.to_double();
    const double y = b.to_double();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return error("cannot compare " + type_name(a) + " with " + type_name(b));
}

Result<bool> Renderer::contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kArray:
      for (const Value& element : container.as_array().items) {
        QUIRE_ASSIGN_OR_RETURN(const bool same, equals(element, item));
        if (same) return true;
      }
      return false;
    case Value::Kind::kObject: {
      if (item.is_array() || item.is_object() || item.is_callable()) return false;
      QUIRE_ASSIGN_OR_RETURN(const std::string key, to_str(item));
      return container.as_object().find(key) != nullptr;
    }
    case Value::Kind::kString:
      if (!item.is_string()) {
        return error("'in <string>' needs a string on the left, got " + type_name(item));
      }
      QUIRE_RETURN_IF_ERROR(charge(container.as_string().size() / 2));
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kNone:
      return false;
    default:
      return error("'in' needs a list, dict or string on the right, got " + type_name(container));
  }
}

Result<Value> Renderer::call(const Value& callee, CallArgs& args) {
  DepthGuard guard(*this);
  QUIRE_RETURN_IF_ERROR(check_depth());
  if (!callee.is_callable()) return error(type_name(callee) + " is not callable");
  // Copy the function: a call may add callables to the heap (never moving existing ones, the
  // heap is a deque), but keep the call independent of the Callable's storage anyway.
  NativeFunction function = callee.as_callable().function;
  return function(*this, args);
}

Result<bool> Renderer::test(const std::string& name, const Value& v, CallArgs& args) {
  return apply_test(*this, name, v, args);
}

Result<Value> Renderer::filter(const std::string& name, const Value& input, CallArgs& args) {
  return apply_filter(*this, name, input, args);
}

// ---- statements --------------------------------------------------------------------------------

Status Renderer::append(std::string& out, std::string_view text) {
  if (out.size() + text.size() > options_.limits.max_output_bytes) {
    return resource_exhausted_error("jinja: output exceeds " +
                                    std::to_string(options_.limits.max_output_bytes) + " bytes");
  }
  QUIRE_RETURN_IF_ERROR(charge(text.size() / 2));
  out += text;
  return ok_status();
}

Status Renderer::render_body(const Body& body, Scope* scope, std::string& out) {
  for (const auto& stmt : body) {
    QUIRE_RETURN_IF_ERROR(render_stmt(*stmt, scope, out));
    if (control_ != Control::kNone) return ok_status();
  }
  return ok_status();
}

Status Renderer::set_variable(Scope* scope, const std::string& name, Value value) {
  if (scope->vars.find(name) == nullptr) QUIRE_RETURN_IF_ERROR(count_items(1));
  scope->vars.set(name, std::move(value));
  return ok_status();
}

Status Renderer::bind_names(const std::vector<std::string>& names, const Value& item,
                            Scope* scope) {
  if (names.size() == 1) return set_variable(scope, names[0], item);
  if (!item.is_array() || item.as_array().items.size() != names.size()) {
    return error("cannot unpack " + type_name(item) + " into " + std::to_string(names.size()) +
                 " variables");
  }
  for (size_t i = 0; i < names.size(); ++i) {
    QUIRE_RETURN_IF_ERROR(set_variable(scope, names[i], item.as_array().items[i]));
  }
  return ok_status();
}

Status Renderer::render_stmt(const Stmt& stmt, Scope* scope, std::string& out) {
  DepthGuard guard(*this);
  QUIRE_RETURN_IF_ERROR(check_depth());
  QUIRE_RETURN_IF_ERROR(charge(0));
  Status status;
  switch (stmt.kind) {
    case StmtKind::kText:
      status = append(out, stmt.text);
      break;
    case StmtKind::kOutput: {
      Result<Value> value = eval(*stmt.exprs[0], scope);
      if (!value.ok()) {
        status = value.status();
        break;
      }
      const Value& v = *value;
      if (v.is_string()) {
        status = append(out, v.as_string());
      } else if (v.is_bool()) {
        status = append(out, v.as_bool() ? "True" : "False");
      } else if (!v.is_none()) {
        std::string text;
        status = repr(v, text);
        if (status.ok()) status = append(out, text);
      }
      break;
    }
    case StmtKind::kIf:
      for (size_t i = 0; i < stmt.exprs.size(); ++i) {
        bool enter = true;
        if (stmt.exprs[i] != nullptr) {
          Result<Value> condition = eval(*stmt.exprs[i], scope);
          if (!condition.ok()) return condition.status();
          enter = condition->truthy();
        }
        if (enter) return render_body(stmt.bodies[i], scope, out);
      }
      break;
    case StmtKind::kFor:
      status = render_for(stmt, scope, out);
      break;
    case StmtKind::kSet: {
      Result<Value> value = eval(*stmt.exprs[0], scope);
      status = value.ok() ? bind_names(stmt.names, *value, scope) : value.status();
      break;
    }
    case StmtKind::kSetAttr: {
      const Value* target = lookup(scope, stmt.names[0]);
      if (target == nullptr || !target->is_object()) {
        status = error("cannot set '" + stmt.names[1] + "' on '" + stmt.names[0] + "', which is " +
                       (target == nullptr ? std::string("undefined") : type_name(*target)) +
                       " (use namespace())");
        break;
      }
      const Value object = *target;
      Result<Value> value = eval(*stmt.exprs[0], scope);
      status = value.ok() ? set(object, stmt.names[1], *value) : value.status();
      break;
    }
    case StmtKind::kSetBlock: {
      std::string text;
      status = render_body(stmt.bodies[0], scope, text);
      if (!status.ok()) break;
      Result<Value> value = make_string(std::move(text));
      status = value.ok() ? bind_names(stmt.names, *value, scope) : value.status();
      break;
    }
    case StmtKind::kMacro: {
      const Stmt* macro = &stmt;
      Value function =
          make_callable(stmt.names[0], [macro, scope](Renderer& renderer, CallArgs& args) {
            return renderer.call_macro(*macro, scope, args);
          });
      status = set_variable(scope, stmt.names[0], function);
      break;
    }
    case StmtKind::kFilterBlock: {
      std::string text;
      status = render_body(stmt.bodies[0], scope, text);
      if (!status.ok()) break;
      Result<Scope*> inner = new_scope(scope);
      if (!inner.ok()) return inner.status();
      Result<Value> input = make_string(std::move(text));
      if (!input.ok()) return input.status();
      (*inner)->vars.set(kBlockInput, *input);
      Result<Value> value = eval(*stmt.exprs[0], *inner);
      if (!value.ok()) return value.status();
      Result<std::string> printed = to_str(*value);
      status = printed.ok() ? append(out, *printed) : printed.status();
      break;
    }
    case StmtKind::kBreak:
      control_ = Control::kBreak;
      break;
    case StmtKind::kContinue:
      control_ = Control::kContinue;
      break;
  }
  return positioned(std::move(status), stmt.pos);
}

Status Renderer::render_for(const Stmt& stmt, Scope* scope, std::string& out) {
  QUIRE_ASSIGN_OR_RETURN(const Value iterable, eval(*stmt.exprs[0], scope));
  std::vector<Value> items;
  switch (iterable.kind()) {
    case Value::Kind::kNone:
      break;
    case Value::Kind::kArray:
      items = iterable.as_array().items;
      break;
    case Value::Kind::kObject:
      for (const auto& entry : iterable.as_object().entries) {
        items.push_back(Value::string(entry.first));
      }
      break;
    case Value::Kind::kString: {
      const std::string& s = iterable.as_string();
      const std::vector<size_t> offsets = code_point_offsets(s);
      for (size_t i = 0; i + 1 < offsets.size(); ++i) {
        items.push_back(Value::string(s.substr(offsets[i], offsets[i + 1] - offsets[i])));
      }
      break;
    }
    default:
      return error("cannot loop over " + type_name(iterable));
  }
  QUIRE_RETURN_IF_ERROR(charge(items.size()));

  if (stmt.exprs[1] != nullptr) {  // for x in items if condition
    std::vector<Value> kept;
    QUIRE_ASSIGN_OR_RETURN(Scope * probe, new_scope(scope));
    for (const Value& item : items) {
      QUIRE_RETURN_IF_ERROR(charge(0));
      QUIRE_RETURN_IF_ERROR(bind_names(stmt.names, item, probe));
      QUIRE_ASSIGN_OR_RETURN(const Value keep, eval(*stmt.exprs[1], probe));
      if (keep.truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) return render_body(stmt.bodies[1], scope, out);

  QUIRE_ASSIGN_OR_RETURN(Scope * loop_scope, new_scope(scope));
  const Value loop = new_object();
  Object* loop_object = &loop.as_object();
  QUIRE_RETURN_IF_ERROR(count_items(12));
  loop_object->set(
      "cycle", make_callable("loop.cycle", [loop_object](Renderer&, CallArgs& args) {
        if (args.positional.empty()) {
          return Result<Value>(Renderer::error("loop.cycle() needs arguments"));
        }
        const Value* index = loop_object->find("index0");
        const int64_t i = index != nullptr && index->is_int() ? index->as_int() : 0;
        return Result<Value>(args.positional[static_cast<size_t>(i) % args.positional.size()]);
      }));
  loop_scope->vars.set("loop", loop);
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    // Each iteration costs a step, so that empty bodies in nested loops cannot spin forever.
    QUIRE_RETURN_IF_ERROR(charge(0));
    const Value& item = items[static_cast<size_t>(i)];
    QUIRE_RETURN_IF_ERROR(bind_names(stmt.names, item, loop_scope));
    loop_object->set("index", Value::integer(i + 1));
    loop_object->set("index0", Value::integer(i));
    loop_object->set("revindex", Value::integer(n - i));
    loop_object->set("revindex0", Value::integer(n - i - 1));
    loop_object->set("first", Value::boolean(i == 0));
    loop_object->set("last", Value::boolean(i == n - 1));
    loop_object->set("length", Value::integer(n));
    loop_object->set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value());
    loop_object->set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value());
    QUIRE_RETURN_IF_ERROR(render_body(stmt.bodies[0], loop_scope, out));
    if (control_ == Control::kBreak) {
      control_ = Control::kNone;
      break;
    }
    control_ = Control::kNone;
  }
  return ok_status();
}

Result<Value> Renderer::call_macro(const Stmt& macro, Scope* definition, CallArgs& args) {
  const std::string& name = macro.names[0];
  const size_t n_params = macro.names.size() - 1;
  if (args.positional.size() > n_params) {
    return error("macro '" + name + "' takes " + std::to_string(n_params) + " arguments, got " +
                 std::to_string(args.positional.size()));
  }
  QUIRE_ASSIGN_OR_RETURN(Scope * scope, new_scope(definition));
  QUIRE_RETURN_IF_ERROR(count_items(n_params));
  std::vector<bool> given(n_params, false);
  for (size_t i = 0; i < args.positional.size(); ++i) {
    scope->vars.set(macro.names[i + 1], args.positional[i]);
    given[i] = true;
  }
  for (auto& [key, value] : args.named) {
    size_t k = 0;
    while (k < n_params && macro.names[k + 1] != key) ++k;
    if (k == n_params) return error("macro '" + name + "' has no parameter '" + key + "'");
    scope->vars.set(key, value);
    given[k] = true;
  }
  for (size_t i = 0; i < n_params; ++i) {
    if (given[i]) continue;
    Value value;
    if (macro.exprs[i] != nullptr) {
      QUIRE_ASSIGN_OR_RETURN(value, eval(*macro.exprs[i], scope));
    }
    scope->vars.set(macro.names[i + 1], std::move(value));
  }
  std::string out;
  QUIRE_RETURN_IF_ERROR(render_body(macro.bodies[0], scope, out));
  return make_string(std::move(out));
}

// ---- expressions -------------------------------------------------------------------------------

Result<Value> Renderer::eval(const Expr& e, Scope* scope) {
  DepthGuard guard(*this);
  QUIRE_RETURN_IF_ERROR(check_depth());
  QUIRE_RETURN_IF_ERROR(charge(0));
  Result<Value> value = eval_inner(e, scope);
  if (!value.ok()) return positioned(value.status(), e.pos);
  return value;
}

Status Renderer::eval_args(const Expr& e, size_t first, Scope* scope, CallArgs& args) {
  for (size_t i = first; i < e.operands.size(); ++i) {
    QUIRE_ASSIGN_OR_RETURN(Value value, eval(*e.operands[i], scope));
    const std::string& name = e.arg_names[i - first];
    if (name.empty()) {
      if (!args.named.empty()) return error("positional argument after a keyword argument");
      args.positional.push_back(std::move(value));
    } else {
      args.named.emplace_back(name, std::move(value));
    }
  }
  return ok_status();
}

Result<Value> Renderer::eval_inner(const Expr& e, Scope* scope) {
  switch (e.kind) {
    case ExprKind::kLiteral:
      return e.literal;
    case ExprKind::kVariable: {
      const Value* v = lookup(scope, e.name);
      return v != nullptr ? *v : Value();
    }
    case ExprKind::kList: {
      Value array = new_array();
      QUIRE_RETURN_IF_ERROR(count_items(1));
      for (const ExprPtr& operand : e.operands) {
        QUIRE_ASSIGN_OR_RETURN(Value item, eval(*operand, scope));
        QUIRE_RETURN_IF_ERROR(push(array, std::move(item)));
      }
      return array;
    }
    case ExprKind::kDict: {
      Value object = new_object();
      QUIRE_RETURN_IF_ERROR(count_items(1));
      for (size_t i = 0; i + 1 < e.operands.size(); i += 2) {
        QUIRE_ASSIGN_OR_RETURN(const Value key, eval(*e.operands[i], scope));
        if (key.is_array() || key.is_object() || key.is_callable()) {
          return error("a dict key cannot be a " + type_name(key));
        }
        QUIRE_ASSIGN_OR_RETURN(const std::string key_text, to_str(key));
        QUIRE_ASSIGN_OR_RETURN(Value value, eval(*e.operands[i + 1], scope));
        QUIRE_RETURN_IF_ERROR(set(object, key_text, std::move(value)));
      }
      return object;
    }
    case ExprKind::kAttribute: {
      QUIRE_ASSIGN_OR_RETURN(const Value object, eval(*e.operands[0], scope));
      if (object.is_none()) {
        const Expr& base = *e.operands[0];
        return error(base.kind == ExprKind::kVariable
                         ? "'" + base.name + "' is undefined (reading '." + e.name + "')"
                         : "cannot read attribute '" + e.name + "' of none");
      }
      return attribute(object, e.name);
    }
    case ExprKind::kItem: {
      QUIRE_ASSIGN_OR_RETURN(const Value object, eval(*e.operands[0], scope));
      QUIRE_ASSIGN_OR_RETURN(const Value index, eval(*e.operands[1], scope));
      if (object.is_none()) {
        const Expr& base = *e.operands[0];
        return error(base.kind == ExprKind::kVariable
                         ? "'" + base.name + "' is undefined (indexing it)"
                         : std::string("cannot index none"));
      }
      return item(object, index);
    }
    case ExprKind::kSlice: {
      QUIRE_ASSIGN_OR_RETURN(const Value object, eval(*e.operands[0], scope));
      Value bounds[3];
      for (size_t i = 0; i < 3; ++i) {
        if (e.operands[i + 1] != nullptr) {
          QUIRE_ASSIGN_OR_RETURN(bounds[i], eval(*e.operands[i + 1], scope));
        }
      }
      return slice(object, bounds[0], bounds[1], bounds[2]);
    }
    case ExprKind::kCall:
      return eval_call(e, scope);
    case ExprKind::kFilter: {
      QUIRE_ASSIGN_OR_RETURN(const Value input, eval(*e.operands[0], scope));
      CallArgs args;
      QUIRE_RETURN_IF_ERROR(eval_args(e, 1, scope, args));
      return filter(e.name, input, args);
    }
    case ExprKind::kTest: {
      QUIRE_ASSIGN_OR_RETURN(const Value input, eval(*e.operands[0], scope));
      CallArgs args;
      QUIRE_RETURN_IF_ERROR(eval_args(e, 1, scope, args));
      QUIRE_ASSIGN_OR_RETURN(const bool passed, test(e.name, input, args));
      return Value::boolean(passed != e.negated);
    }
    case ExprKind::kNegate:
    case ExprKind::kPlus: {
      QUIRE_ASSIGN_OR_RETURN(const Value v, eval(*e.operands[0], scope));
      if (!v.is_number()) {
        return error(std::string("bad operand type for unary ") +
                     (e.kind == ExprKind::kNegate ? "-" : "+") + ": " + type_name(v));
      }
      if (e.kind == ExprKind::kPlus) return v;
      if (v.is_float()) return Value::number(-v.as_float());
      if (v.as_int() == std::numeric_limits<int64_t>::min()) return error("integer overflow");
      return Value::integer(-v.as_int());
    }
    case ExprKind::kNot: {
      QUIRE_ASSIGN_OR_RETURN(const Value v, eval(*e.operands[0], scope));
      return Value::boolean(!v.truthy());
    }
    case ExprKind::kBinary: {
      QUIRE_ASSIGN_OR_RETURN(const Value l, eval(*e.operands[0], scope));
      QUIRE_ASSIGN_OR_RETURN(const Value r, eval(*e.operands[1], scope));
      return eval_binary(e.op, l, r);
    }
    case ExprKind::kAnd: {
      QUIRE_ASSIGN_OR_RETURN(const Value l, eval(*e.operands[0], scope));
      if (!l.truthy()) return Value::boolean(false);
      QUIRE_ASSIGN_OR_RETURN(const Value r, eval(*e.operands[1], scope));
      return Value::boolean(r.truthy());
    }
    case ExprKind::kOr: {
      QUIRE_ASSIGN_OR_RETURN(Value l, eval(*e.operands[0], scope));
      if (l.truthy()) return l;
      return eval(*e.operands[1], scope);
    }
    case ExprKind::kConditional: {
      QUIRE_ASSIGN_OR_RETURN(const Value condition, eval(*e.operands[1], scope));
      if (condition.truthy()) return eval(*e.operands[0], scope);
      if (e.operands[2] != nullptr) return eval(*e.operands[2], scope);
      return Value();
    }
  }
  return error("unknown expression");
}

Result<Value> Renderer::eval_call(const Expr& e, Scope* scope) {
  const Expr& callee = *e.operands[0];
  CallArgs args;
  if (callee.kind == ExprKind::kAttribute) {
    // obj.name(...): a method of the value's type, else a callable stored under that key.
    QUIRE_ASSIGN_OR_RETURN(const Value object, eval(*callee.operands[0], scope));
    QUIRE_RETURN_IF_ERROR(eval_args(e, 1, scope, args));
    if (object.is_none()) {
      return error("cannot call method '" + callee.name + "' of none");
    }
    if (std::optional<Result<Value>> result = call_method(*this, object, callee.name, args)) {
      return std::move(*result);
    }
    QUIRE_ASSIGN_OR_RETURN(const Value function, attribute(object, callee.name));
    if (!function.is_callable()) {
      return error(type_name(object) + " has no method '" + callee.name + "'");
    }
    return call(function, args);
  }
  QUIRE_ASSIGN_OR_RETURN(const Value function, eval(callee, scope));
  if (!function.is_callable()) {
    return error(callee.kind == ExprKind::kVariable
                     ? "'" + callee.name + "' is " +
                           (function.is_none() ? "undefined" : "not callable")
                     : type_name(function) + " is not callable");
  }
  QUIRE_RETURN_IF_ERROR(eval_args(e, 1, scope, args));
  return call(function, args);
}

Result<Value> Renderer::eval_binary(BinaryOp op, const Value& l, const Value& r) {
  const auto unsupported = [&]() {
    return error(std::string("unsupported operand types for ") + op_text(op) + ": " + type_name(l) +
                 " and " + type_name(r));
  };
  switch (op) {
    case BinaryOp::kConcat: {
      QUIRE_ASSIGN_OR_RETURN(std::string a, to_str(l));
      QUIRE_ASSIGN_OR_RETURN(const std::string b, to_str(r));
      QUIRE_RETURN_IF_ERROR(check_string(a.size() + b.size()));
      return make_string(a + b);
    }
    case BinaryOp::kAdd: {
      if (l.is_string() || r.is_string()) {
        QUIRE_ASSIGN_OR_RETURN(std::string a, to_str(l));
        QUIRE_ASSIGN_OR_RETURN(const std::string b, to_str(r));
        QUIRE_RETURN_IF_ERROR(check_string(a.size() + b.size()));
        return make_string(a + b);
      }
      if (l.is_int() && r.is_int()) {
        int64_t sum = 0;
        if (__builtin_add_overflow(l.as_int(), r.as_int(), &sum)) return error("integer overflow");
        return Value::integer(sum);
      }
      if (l.is_number() && r.is_number()) return Value::number(l.to_double() + r.to_double());
      if (l.is_array() && r.is_array()) {
        const auto& a = l.as_array().items;
        const auto& b = r.as_array().items;
        QUIRE_RETURN_IF_ERROR(count_items(a.size() + b.size() + 1));
        QUIRE_RETURN_IF_ERROR(charge(a.size() + b.size()));
        Value out = new_array();
        auto& items = out.as_array().items;
        items.reserve(a.size() + b.size());
        items.insert(items.end(), a.begin(), a.end());
        items.insert(items.end(), b.begin(), b.end());
        return out;
      }
      return unsupported();
    }
    case BinaryOp::kSub:
      if (l.is_int() && r.is_int()) {
        int64_t difference = 0;
        if (__builtin_sub_overflow(l.as_int(), r.as_int(), &difference)) {
          return error("integer overflow");
        }
        return Value::integer(difference);
      }
      if (l.is_number() && r.is_number()) return Value::number(l.to_double() - r.to_double());
      return unsupported();
    case BinaryOp::kMul: {
      if (l.is_int() && r.is_int()) {
        int64_t product = 0;
        if (__builtin_mul_overflow(l.as_int(), r.as_int(), &product)) {
          return error("integer overflow");
        }
        return Value::integer(product);
      }
      if (l.is_number() && r.is_number()) return Value::number(l.to_double() * r.to_double());
      // Repetition: "ab" * 3, [x] * 3 (either order).
      const Value& sequence = l.is_int() ? r : l;
      const Value& count_value = l.is_int() ? l : r;
      if (!count_value.is_int() || !(sequence.is_string() || sequence.is_array())) {
        return unsupported();
      }
      const int64_t count = std::max<int64_t>(0, count_value.as_int());
      if (sequence.is_string()) {
        const std::string& s = sequence.as_string();
        if (!s.empty() &&
            static_cast<uint64_t>(count) > options_.limits.max_string_bytes / s.size()) {
          return check_string(options_.limits.max_string_bytes + 1);
        }
        std::string out;
        out.reserve(s.size() * static_cast<size_t>(count));
        for (int64_t i = 0; i < count; ++i) out += s;
        return make_string(std::move(out));
      }
      const auto& items = sequence.as_array().items;
      if (!items.empty() &&
          static_cast<uint64_t>(count) > options_.limits.max_items / items.size()) {
        return count_items(options_.limits.max_items + 1);
      }
      const size_t total = items.size() * static_cast<size_t>(count);
      QUIRE_RETURN_IF_ERROR(count_items(total + 1));
      QUIRE_RETURN_IF_ERROR(charge(total));
      Value out = new_array();
      for (int64_t i = 0; i < count; ++i) {
        out.as_array().items.insert(out.as_array().items.end(), items.begin(), items.end());
      }
      return out;
    }
    case BinaryOp::kDiv:
      if (!l.is_number() || !r.is_number()) return unsupported();
      if (r.to_double() == 0.0) return error("division by zero");
      return Value::number(l.to_double() / r.to_double());
    case BinaryOp::kFloorDiv:
    case BinaryOp::kMod:
      if (!l.is_number() || !r.is_number()) return unsupported();
      if (r.to_double() == 0.0)
        return error(op == BinaryOp::kMod ? "modulo by zero" : "division by zero");
      if (l.is_int() && r.is_int()) {
        if (l.as_int() == std::numeric_limits<int64_t>::min() && r.as_int() == -1) {
          return op == BinaryOp::kMod ? Value::integer(0)
                                      : Result<Value>(error("integer overflow"));
        }
        return Value::integer(op == BinaryOp::kMod ? floor_mod(l.as_int(), r.as_int())
                                                   : floor_div(l.as_int(), r.as_int()));
      } else {
        const double a = l.to_double();
        const double b = r.to_double();
        if (op == BinaryOp::kFloorDiv) return Value::number(std::floor(a / b));
        double m = std::fmod(a, b);
        if (m != 0 && ((m < 0) != (b < 0))) m += b;
        return Value::number(m);
      }
    case BinaryOp::kPow:
      if (!l.is_number() || !r.is_number()) return unsupported();
      if (l.is_int() && r.is_int() && r.as_int() >= 0) {
        int64_t result = 1;
        int64_t base = l.as_int();
        int64_t exponent = r.as_int();
        while (exponent > 0) {
          if ((exponent & 1) != 0 && __builtin_mul_overflow(result, base, &result)) {
            return error("integer overflow");
          }
          exponent >>= 1;
          if (exponent > 0 && __builtin_mul_overflow(base, base, &base)) {
            return error("integer overflow");
          }
        }
        return Value::integer(result);
      }
      return Value::number(std::pow(l.to_double(), r.to_double()));
    case BinaryOp::kEq:
    case BinaryOp::kNe: {
      QUIRE_ASSIGN_OR_RETURN(const bool same, equals(l, r));
      return Value::boolean(same == (op == BinaryOp::kEq));
    }
    case BinaryOp::kLt:
    case BinaryOp::kLe:
    case BinaryOp::kGt:
    case BinaryOp::kGe: {
      QUIRE_ASSIGN_OR_RETURN(const int c, compare(l, r));
      switch (op) {
        case BinaryOp::kLt:
          return Value::boolean(c < 0);
        case BinaryOp::kLe:
          return Value::boolean(c <= 0);
        case BinaryOp::kGt:
          return Value::boolean(c > 0);
        default:
          return Value::boolean(c >= 0);
      }
    }
    case BinaryOp::kIn:
    case BinaryOp::kNotIn: {
      QUIRE_ASSIGN_OR_RETURN(const bool found, contains(r, l));
      return Value::boolean(found == (op == BinaryOp::kIn));
    }
  }
  return unsupported();
}

Result<Value> Renderer::attribute(const Value& object, const std::string& name) {
  if (object.is_object()) {
    const Value* v = object.as_object().find(name);
    return v != nullptr ? *v : Value();
  }
  if (object.is_none()) return error("cannot read attribute '" + name + "' of none");
  return Value();
}

Result<Value> Renderer::item(const Value& object, const Value& index) {
  switch (object.kind()) {
    case Value::Kind::kArray: {
      if (!index.is_int()) return Value();
      const auto& items = object.as_array().items;
      const int64_t n = static_cast<int64_t>(items.size());
      int64_t i = index.as_int();
      if (i < 0) i += n;
      if (i < 0 || i >= n) {
        return error("list index " + std::to_string(index.as_int()) + " out of range (length " +
                     std::to_string(n) + ")");
      }
      return items[static_cast<size_t>(i)];
    }
    case Value::Kind::kObject: {
      if (index.is_array() || index.is_object() || index.is_callable()) return Value();
      QUIRE_ASSIGN_OR_RETURN(const std::string key, to_str(index));
      const Value* v = object.as_object().find(key);
      return v != nullptr ? *v : Value();
    }
    case Value::Kind::kString: {
      if (!index.is_int()) return Value();
      const std::string& s = object.as_string();
      QUIRE_RETURN_IF_ERROR(charge(s.size() / 2));
      const std::vector<size_t> offsets = code_point_offsets(s);
      const int64_t n = static_cast<int64_t>(offsets.size()) - 1;
      int64_t i = index.as_int();
      if (i < 0) i += n;
      if (i < 0 || i >= n) return error("string index out of range");
      const size_t at = static_cast<size_t>(i);
      return Value::string(s.substr(offsets[at], offsets[at + 1] - offsets[at]));
    }
    case Value::Kind::kNone:
      return error("cannot index none");
    default:
      return Value();
  }
}

Result<Value> Renderer::slice(const Value& object, const Value& start_value,
                              const Value& stop_value, const Value& step_value) {
  for (const Value* bound : {&start_value, &stop_value, &step_value}) {
    if (!bound->is_none() && !bound->is_int()) {
      return error("slice bounds must be integers, got " + type_name(*bound));
    }
  }
  const int64_t step = step_value.is_none() ? 1 : step_value.as_int();
  if (step == 0) return error("slice step cannot be zero");
  std::vector<size_t> offsets;
  int64_t n = 0;
  if (object.is_array()) {
    n = static_cast<int64_t>(object.as_array().items.size());
  } else if (object.is_string()) {
    offsets = code_point_offsets(object.as_string());
    n = static_cast<int64_t>(offsets.size()) - 1;
  } else {
    return error("cannot slice " + type_name(object));
  }
  QUIRE_RETURN_IF_ERROR(charge(static_cast<size_t>(n)));
  // Python's slice.indices(n).
  const auto clamp = [n, step](const Value& v, int64_t fallback) {
    if (v.is_none()) return fallback;
    int64_t i = v.as_int();
    if (i < 0) {
      i = i < -n ? (step < 0 ? -1 : 0) : i + n;
    } else if (i >= n) {
      i = step < 0 ? n - 1 : n;
    }
    return i;
  };
  const int64_t start = clamp(start_value, step < 0 ? n - 1 : 0);
  const int64_t stop = clamp(stop_value, step < 0 ? -1 : n);
  std::vector<int64_t> picks;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) picks.push_back(i);
  if (object.is_string()) {
    const std::string& s = object.as_string();
    std::string out;
    for (const int64_t i : picks) {
      const size_t at = static_cast<size_t>(i);
      out.append(s, offsets[at], offsets[at + 1] - offsets[at]);
    }
    return make_string(std::move(out));
  }
  QUIRE_RETURN_IF_ERROR(count_items(picks.size() + 1));
  Value out = new_array();
  const auto& items = object.as_array().items;
  for (const int64_t i : picks) out.as_array().items.push_back(items[static_cast<size_t>(i)]);
  return out;
}

}  // namespace quire::engine::jinja
