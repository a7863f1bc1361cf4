// Values of the Jinja interpreter (internal to engine/chat).
//
// A Value is none, a bool, an int64, a double, a string, or a reference to a list, a dict or a
// callable. Strings are immutable and shared. Lists, dicts and callables live in a Heap that
// belongs to one render: a Value holding one is a plain pointer, valid while that Heap lives.
// Lists and dicts are reference types as in Python (a namespace() or a list changed through one
// name is changed for all), and may form cycles; the Heap frees everything at once, so cycles
// cannot leak. Primitive Values (no Heap pointer) may outlive renders, e.g. literals of the
// parsed template, and may be copied between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "engine/core/status.h"

namespace quire::engine::jinja {

class Renderer;
struct Array;
struct Object;
struct Callable;

class Value {
 public:
  enum class Kind : uint8_t { kNone, kBool, kInt, kFloat, kString, kArray, kObject, kCallable };

  Value() = default;  // none
  static Value boolean(bool v) { return Value(Variant(std::in_place_index<1>, v)); }
  static Value integer(int64_t v) { return Value(Variant(std::in_place_index<2>, v)); }
  static Value number(double v) { return Value(Variant(std::in_place_index<3>, v)); }
  static Value string(std::string v) {
    return Value(
        Variant(std::in_place_index<4>, std::make_shared<const std::string>(std::move(v))));
  }
  static Value string(std::shared_ptr<const std::string> v) {
    return Value(Variant(std::in_place_index<4>, std::move(v)));
  }
  static Value array(Array* v) { return Value(Variant(std::in_place_index<5>, v)); }
  static Value object(Object* v) { return Value(Variant(std::in_place_index<6>, v)); }
  static Value callable(Callable* v) { return Value(Variant(std::in_place_index<7>, v)); }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_array() const { return kind() == Kind::kArray; }
  bool is_object() const { return kind() == Kind::kObject; }
  bool is_callable() const { return kind() == Kind::kCallable; }

  // Accessors; calling one for another kind is a bug (std::get throws, i.e. aborts).
  bool as_bool() const { return std::get<1>(v_); }
  int64_t as_int() const { return std::get<2>(v_); }
  double as_float() const { return std::get<3>(v_); }
  const std::string& as_string() const { return *std::get<4>(v_); }
  const std::shared_ptr<const std::string>& shared_string() const { return std::get<4>(v_); }
  Array& as_array() const { return *std::get<5>(v_); }
  Object& as_object() const { return *std::get<6>(v_); }
  Callable& as_callable() const { return *std::get<7>(v_); }
  // An int or float as a double.
  double to_double() const { return is_int() ? static_cast<double>(as_int()) : as_float(); }

  // Python-style truth: none, false, 0, 0.0, "" and [] are false. Dicts and callables are
  // always true (as in minja).
  bool truthy() const;

 private:
  using Variant = std::variant<std::monostate, bool, int64_t, double,
                               std::shared_ptr<const std::string>, Array*, Object*, Callable*>;
  explicit Value(Variant v) : v_(std::move(v)) {}
  Variant v_;
};

// The name of a value's kind in error messages, as Python calls the types: "none", "bool",
// "int", "float", "string", "list", "dict", "callable".
std::string type_name(const Value& v);

struct Array {
  std::vector<Value> items;
};

// A dict with string keys, in insertion order.
struct Object {
  std::vector<std::pair<std::string, Value>> entries;
  std::unordered_map<std::string, size_t> index;  // key -> position in entries

  const Value* find(const std::string& key) const;
  // Replaces the value of an existing key (keeping its position) or appends.
  void set(const std::string& key, Value value);
  // Removes a key; false when absent.
  bool erase(const std::string& key);
};

// Positional and keyword arguments of a call.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;
};

using NativeFunction = std::function<Result<Value>(Renderer&, CallArgs&)>;

struct Callable {
  std::string name;  // for error messages
  NativeFunction function;
};

// Owner of the lists, dicts and callables of one render.
class Heap {
 public:
  Array* new_array() { return &arrays_.emplace_back(); }
  Object* new_object() { return &objects_.emplace_back(); }
  Callable* new_callable(std::string name, NativeFunction function) {
    return &callables_.emplace_back(Callable{std::move(name), std::move(function)});
  }

 private:
  std::deque<Array> arrays_;
  std::deque<Object> objects_;
  std::deque<Callable> callables_;
};

// ---- text helpers shared by the parser and the renderer ------------------------------------

// Byte offsets where the code points of `s` start (invalid UTF-8 bytes count one each), plus
// s.size() at the end.
std::vector<size_t> code_point_offsets(std::string_view s);

// JSON string literal with double quotes: escapes ", \, control characters (\b \f \n \r \t,
// others \u00XX); bytes that are not valid UTF-8 become U+FFFD. ensure_ascii: code points
// above U+007F are written as \uXXXX (surrogate pairs above U+FFFF), as Python's json.dumps.
std::string json_quote(std::string_view s, bool ensure_ascii);

// A double the way nlohmann::json (and so minja) prints it: the shortest text that reads back
// the same, "1.0" for integral values, exponent form outside [1e-5, 1e15); "null" for NaN and
// infinities.
std::string format_json_double(double v);

// ASCII whitespace: space, \t, \n, \r, \v, \f.
bool is_space(char c);

}  // namespace quire::engine::jinja
