// The Jinja builtins: filters, tests, methods of strings / lists / dicts, and global functions.
// Each table maps a name to a function; the filters and tests tables are sorted by name.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>
#include <optional>
#include <unordered_set>

#include "engine/chat/jinja_render.h"

namespace quire::engine::jinja {
namespace {

// ---- arguments ---------------------------------------------------------------------------------

// A call's arguments bound to parameter names: positional ones in order, then keywords.
class Params {
 public:
  static Result<Params> bind(std::string_view function, CallArgs& args,
                             std::initializer_list<std::string_view> names) {
    Params p;
    p.slots_.resize(names.size());
    if (args.positional.size() > names.size()) {
      return Renderer::error(std::string(function) + "() takes at most " +
                             std::to_string(names.size()) + " arguments, got " +
                             std::to_string(args.positional.size()));
    }
    for (size_t i = 0; i < args.positional.size(); ++i) p.slots_[i] = args.positional[i];
    for (auto& [name, value] : args.named) {
      const auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) {
        return Renderer::error(std::string(function) + "() got an unexpected argument '" + name +
                               "'");
      }
      const size_t index = static_cast<size_t>(it - names.begin());
      if (p.slots_[index].has_value()) {
        return Renderer::error(std::string(function) + "() got argument '" + name + "' twice");
      }
      p.slots_[index] = value;
    }
    return p;
  }

  bool has(size_t i) const { return slots_[i].has_value(); }
  Value get(size_t i, Value fallback = Value()) const {
    return slots_[i].has_value() ? *slots_[i] : std::move(fallback);
  }

 private:
  std::vector<std::optional<Value>> slots_;
};

Status expect_string(const Value& v, std::string_view function) {
  if (v.is_string()) return ok_status();
  return Renderer::error(std::string(function) + " expects a string, got " + type_name(v));
}

Result<int64_t> expect_int(const Value& v, std::string_view what) {
  if (v.is_int()) return v.as_int();
  if (v.is_bool()) return static_cast<int64_t>(v.as_bool());
  return Renderer::error(std::string(what) + " must be an integer, got " + type_name(v));
}

// The elements of a list, the characters of a string or the keys of a dict.
Result<std::vector<Value>> elements(const Value& v, std::string_view function) {
  std::vector<Value> out;
  switch (v.kind()) {
    case Value::Kind::kArray:
      return v.as_array().items;
    case Value::Kind::kObject:
      for (const auto& entry : v.as_object().entries) out.push_back(Value::string(entry.first));
      return out;
    case Value::Kind::kString: {
      const std::string& s = v.as_string();
      const std::vector<size_t> offsets = code_point_offsets(s);
      for (size_t i = 0; i + 1 < offsets.size(); ++i) {
        out.push_back(Value::string(s.substr(offsets[i], offsets[i + 1] - offsets[i])));
      }
      return out;
    }
    default:
      return Renderer::error(std::string(function) + " expects a list, got " + type_name(v));
  }
}

Result<Value> make_list(Renderer& r, std::vector<Value> items) {
  QUIRE_RETURN_IF_ERROR(r.count_items(items.size() + 1));
  QUIRE_RETURN_IF_ERROR(r.charge(items.size()));
  Value out = r.new_array();
  out.as_array().items = std::move(items);
  return out;
}

// x.a.b for attribute "a.b" (Jinja2's attribute paths); integers index lists.
Result<Value> attribute_path(Renderer& r, const Value& v, const std::string& path) {
  Value current = v;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find('.', begin);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(begin, end - begin);
    QUIRE_RETURN_IF_ERROR(r.charge(0));
    if (current.is_object()) {
      const Value* next = current.as_object().find(part);
      current = next != nullptr ? *next : Value();
    } else if (current.is_array()) {
      int64_t index = 0;
      const auto parsed = std::from_chars(part.data(), part.data() + part.size(), index);
      const auto& items = current.as_array().items;
      current =
          (parsed.ec == std::errc() && index >= 0 && static_cast<size_t>(index) < items.size())
              ? items[static_cast<size_t>(index)]
              : Value();
    } else {
      return Value();
    }
    begin = end + 1;
  }
  return current;
}

std::string ascii_lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}
std::string ascii_upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Python's str.strip([chars]) on ASCII whitespace by default.
std::string strip(const std::string& s, const std::optional<std::string>& chars, bool left,
                  bool right) {
  const auto strippable = [&](char c) {
    return chars.has_value() ? chars->find(c) != std::string::npos : is_space(c);
  };
  size_t begin = 0;
  size_t end = s.size();
  if (left) {
    while (begin < end && strippable(s[begin])) ++begin;
  }
  if (right) {
    while (end > begin && strippable(s[end - 1])) --end;
  }
  return s.substr(begin, end - begin);
}

Result<std::optional<std::string>> optional_chars(const Params& p, size_t i) {
  const Value v = p.get(i);
  if (v.is_none()) return std::optional<std::string>();
  QUIRE_RETURN_IF_ERROR(expect_string(v, "strip"));
  return std::optional<std::string>(v.as_string());
}

// Python's str.replace(old, new, count).
Result<std::string> replace(Renderer& r, const std::string& s, const std::string& old_text,
                            const std::string& new_text, int64_t count) {
  std::string out;
  int64_t done = 0;
  if (old_text.empty()) {
    // Python inserts `new` before every character and at the end.
    const std::vector<size_t> offsets = code_point_offsets(s);
    for (size_t i = 0; i + 1 < offsets.size() + 1; ++i) {
      if (count < 0 || done < count) {
        out += new_text;
        ++done;
      }
      if (i + 1 < offsets.size()) out.append(s, offsets[i], offsets[i + 1] - offsets[i]);
      QUIRE_RETURN_IF_ERROR(r.check_string(out.size()));
    }
    return out;
  }
  size_t at = 0;
  while (count < 0 || done < count) {
    const size_t found = s.find(old_text, at);
    if (found == std::string::npos) break;
    out.append(s, at, found - at);
    out += new_text;
    QUIRE_RETURN_IF_ERROR(r.check_string(out.size()));
    at = found + old_text.size();
    ++done;
  }
  out.append(s, at, std::string::npos);
  return out;
}

// Sort keys: all numbers or all strings, compared with a total order (NaN last).
struct SortKey {
  bool is_string = false;
  double number = 0;
  std::string text;
};
Result<std::vector<SortKey>> sort_keys(const std::vector<Value>& values, bool case_sensitive) {
  std::vector<SortKey> keys;
  keys.reserve(values.size());
  bool strings = false;
  bool numbers = false;
  for (const Value& v : values) {
    SortKey key;
    if (v.is_string()) {
      key.is_string = strings = true;
      key.text = case_sensitive ? v.as_string() : ascii_lower(v.as_string());
    } else if (v.is_number() || v.is_bool()) {
      numbers = true;
      key.number = v.is_bool() ? static_cast<double>(v.as_bool()) : v.to_double();
    } else {
      return Renderer::error("cannot sort a " + type_name(v));
    }
    keys.push_back(std::move(key));
  }
  if (strings && numbers) return Renderer::error("cannot sort a mix of strings and numbers");
  return keys;
}
bool key_less(const SortKey& a, const SortKey& b) {
  if (a.is_string) return a.text < b.text;
  const bool a_nan = std::isnan(a.number);
  const bool b_nan = std::isnan(b.number);
  if (a_nan || b_nan) return !a_nan && b_nan;
  return a.number < b.number;
}

// Indices of `keys` in sorted order (stable).
std::vector<size_t> sorted_order(const std::vector<SortKey>& keys, bool reverse) {
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return reverse ? key_less(keys[b], keys[a]) : key_less(keys[a], keys[b]);
  });
  return order;
}

// ---- filters -----------------------------------------------------------------------------------

using FilterFunction = Result<Value> (*)(Renderer&, const Value&, CallArgs&);

Result<Value> filter_abs(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("abs", args, {}));
  (void)p;
  (void)r;
  if (v.is_float()) return Value::number(std::fabs(v.as_float()));
  if (!v.is_int()) return Renderer::error("abs expects a number, got " + type_name(v));
  if (v.as_int() == std::numeric_limits<int64_t>::min()) {
    return Renderer::error("integer overflow");
  }
  return Value::integer(v.as_int() < 0 ? -v.as_int() : v.as_int());
}

Result<Value> filter_capitalize(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("capitalize", args, {}));
  (void)p;
  QUIRE_ASSIGN_OR_RETURN(std::string s, r.to_str(v));
  s = ascii_lower(std::move(s));
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return r.make_string(std::move(s));
}

Result<Value> filter_length(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("length", args, {}));
  (void)p;
  switch (v.kind()) {
    case Value::Kind::kString:
      QUIRE_RETURN_IF_ERROR(r.charge(v.as_string().size() / 2));
      return Value::integer(static_cast<int64_t>(code_point_offsets(v.as_string()).size() - 1));
    case Value::Kind::kArray:
      return Value::integer(static_cast<int64_t>(v.as_array().items.size()));
    case Value::Kind::kObject:
      return Value::integer(static_cast<int64_t>(v.as_object().entries.size()));
    default:
      return Renderer::error("a " + type_name(v) + " has no length");
  }
}

Result<Value> filter_default(Renderer&, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p,
                         Params::bind("default", args, {"default_value", "boolean"}));
  const Value fallback = p.get(0, Value::string(""));
  const bool boolean = p.get(1, Value::boolean(false)).truthy();
  if (boolean ? !v.truthy() : v.is_none()) return fallback;
  return v;
}

Result<Value> filter_dictsort(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p,
                         Params::bind("dictsort", args, {"case_sensitive", "by", "reverse"}));
  if (!v.is_object()) return Renderer::error("dictsort expects a dict, got " + type_name(v));
  const Value by = p.get(1, Value::string("key"));
  if (!by.is_string() || (by.as_string() != "key" && by.as_string() != "value")) {
    return Renderer::error("dictsort: 'by' must be \"key\" or \"value\"");
  }
  const bool by_value = by.as_string() == "value";
  const auto& entries = v.as_object().entries;
  std::vector<Value> sort_on;
  for (const auto& [key, value] : entries) {
    sort_on.push_back(by_value ? value : Value::string(key));
  }
  QUIRE_ASSIGN_OR_RETURN(const std::vector<SortKey> keys,
                         sort_keys(sort_on, p.get(0, Value::boolean(false)).truthy()));
  QUIRE_RETURN_IF_ERROR(r.charge(keys.size() * 8));
  std::vector<Value> pairs;
  for (const size_t i : sorted_order(keys, p.get(2, Value::boolean(false)).truthy())) {
    QUIRE_ASSIGN_OR_RETURN(Value pair,
                           make_list(r, {Value::string(entries[i].first), entries[i].second}));
    pairs.push_back(std::move(pair));
  }
  return make_list(r, std::move(pairs));
}

Result<Value> filter_escape(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("escape", args, {}));
  (void)p;
  QUIRE_ASSIGN_OR_RETURN(const std::string s, r.to_str(v));
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return r.make_string(std::move(out));
}

Result<Value> filter_first(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("first", args, {}));
  (void)p;
  (void)r;
  if (v.is_array()) {
    const auto& items = v.as_array().items;
    return items.empty() ? Value() : items.front();
  }
  QUIRE_ASSIGN_OR_RETURN(const std::vector<Value> items, elements(v, "first"));
  return items.empty() ? Value() : items.front();
}

Result<Value> filter_last(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("last", args, {}));
  (void)p;
  (void)r;
  if (v.is_array()) {
    const auto& items = v.as_array().items;
    return items.empty() ? Value() : items.back();
  }
  QUIRE_ASSIGN_OR_RETURN(const std::vector<Value> items, elements(v, "last"));
  return items.empty() ? Value() : items.back();
}

Result<Value> filter_float(Renderer&, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("float", args, {"default"}));
  const Value fallback = p.get(0, Value::number(0.0));
  if (v.is_number()) return Value::number(v.to_double());
  if (v.is_bool()) return Value::number(v.as_bool() ? 1.0 : 0.0);
  if (v.is_string()) {
    const std::string s = strip(v.as_string(), std::nullopt, true, true);
    double d = 0;
    const auto parsed = std::from_chars(s.data(), s.data() + s.size(), d);
    if (!s.empty() && parsed.ec == std::errc() && parsed.ptr == s.data() + s.size()) {
      return Value::number(d);
    }
  }
  return fallback;
}

Result<Value> filter_int(Renderer&, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("int", args, {"default", "base"}));
  const Value fallback = p.get(0, Value::integer(0));
  QUIRE_ASSIGN_OR_RETURN(const int64_t base, expect_int(p.get(1, Value::integer(10)), "base"));
  if (base < 2 || base > 36) return Renderer::error("int: base must be between 2 and 36");
  if (v.is_int()) return v;
  if (v.is_bool()) return Value::integer(v.as_bool() ? 1 : 0);
  if (v.is_float()) {
    const double d = std::trunc(v.as_float());
    if (!(d >= -9.2e18 && d <= 9.2e18)) return fallback;
    return Value::integer(static_cast<int64_t>(d));
  }
  if (v.is_string()) {
    std::string s = strip(v.as_string(), std::nullopt, true, true);
    const bool negative = !s.empty() && s[0] == '-';
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.erase(0, 1);
    int64_t n = 0;
    const auto parsed = std::from_chars(s.data(), s.data() + s.size(), n, static_cast<int>(base));
    if (!s.empty() && parsed.ec == std::errc() && parsed.ptr == s.data() + s.size()) {
      return Value::integer(negative ? -n : n);
    }
  }
  return fallback;
}

Result<Value> filter_indent(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("indent", args, {"width", "first", "blank"}));
  QUIRE_ASSIGN_OR_RETURN(const std::string s, r.to_str(v));
  std::string pad;
  const Value width = p.get(0, Value::integer(4));
  if (width.is_string()) {
    pad = width.as_string();
  } else {
    QUIRE_ASSIGN_OR_RETURN(const int64_t n, expect_int(width, "indent width"));
    if (n < 0 || n > 1024) return Renderer::error("indent width must be in [0, 1024]");
    pad.assign(static_cast<size_t>(n), ' ');
  }
  const bool first = p.get(1, Value::boolean(false)).truthy();
  const bool blank = p.get(2, Value::boolean(false)).truthy();
  // Jinja2: lines after the first get the pad (blank lines only with blank=true).
  std::vector<std::string> lines;
  size_t begin = 0;
  while (true) {
    const size_t end = s.find('\n', begin);
    if (end == std::string::npos) {
      lines.push_back(s.substr(begin));
      break;
    }
    lines.push_back(s.substr(begin, end - begin));
    begin = end + 1;
  }
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    if ((i > 0 || first) && (blank || !lines[i].empty())) out += pad;
    out += lines[i];
    QUIRE_RETURN_IF_ERROR(r.check_string(out.size()));
  }
  return r.make_string(std::move(out));
}

Result<Value> filter_items(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("items", args, {}));
  (void)p;
  if (v.is_none()) return make_list(r, {});
  if (!v.is_object()) return Renderer::error("items expects a dict, got " + type_name(v));
  std::vector<Value> pairs;
  for (const auto& [key, value] : v.as_object().entries) {
    QUIRE_ASSIGN_OR_RETURN(Value pair, make_list(r, {Value::string(key), value}));
    pairs.push_back(std::move(pair));
  }
  return make_list(r, std::move(pairs));
}

Result<Value> filter_join(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("join", args, {"d", "attribute"}));
  const Value separator_value = p.get(0, Value::string(""));
  QUIRE_ASSIGN_OR_RETURN(const std::string separator, r.to_str(separator_value));
  QUIRE_ASSIGN_OR_RETURN(const std::vector<Value> items, elements(v, "join"));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    Value item = items[i];
    if (p.has(1)) {
      QUIRE_ASSIGN_OR_RETURN(const std::string path, r.to_str(p.get(1)));
      QUIRE_ASSIGN_OR_RETURN(item, attribute_path(r, item, path));
    }
    QUIRE_ASSIGN_OR_RETURN(const std::string text, r.to_str(item));
    out += text;
    QUIRE_RETURN_IF_ERROR(r.check_string(out.size()));
  }
  return r.make_string(std::move(out));
}

Result<Value> filter_list(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("list", args, {}));
  (void)p;
  QUIRE_ASSIGN_OR_RETURN(std::vector<Value> items, elements(v, "list"));
  return make_list(r, std::move(items));
}

Result<Value> filter_lower(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("lower", args, {}));
  (void)p;
  if (v.is_none()) return v;
  QUIRE_ASSIGN_OR_RETURN(std::string s, r.to_str(v));
  return r.make_string(ascii_lower(std::move(s)));
}

Result<Value> filter_upper(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("upper", args, {}));
  (void)p;
  if (v.is_none()) return v;
  QUIRE_ASSIGN_OR_RETURN(std::string s, r.to_str(v));
  return r.make_string(ascii_upper(std::move(s)));
}

Result<Value> filter_map(Renderer& r, const Value& v, CallArgs& args) {
  if (v.is_none()) return make_list(r, {});
  QUIRE_ASSIGN_OR_RETURN(const std::vector<Value> items, elements(v, "map"));
  std::vector<Value> out;
  out.reserve(items.size());
  const bool by_attribute = std::any_of(args.named.begin(), args.named.end(),
                                        [](const auto& kv) { return kv.first == "attribute"; });
  if (by_attribute) {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("map", args, {"attribute", "default"}));
    QUIRE_ASSIGN_OR_RETURN(const std::string path, r.to_str(p.get(0)));
    for (const Value& item : items) {
      QUIRE_ASSIGN_OR_RETURN(Value mapped, attribute_path(r, item, path));
      out.push_back(mapped.is_none() ? p.get(1) : std::move(mapped));
    }
    return make_list(r, std::move(out));
  }
  if (args.positional.empty() || !args.positional[0].is_string()) {
    return Renderer::error("map expects a filter name or attribute=");
  }
  const std::string name = args.positional[0].as_string();
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.named = args.named;
  for (const Value& item : items) {
    CallArgs call = rest;
    QUIRE_ASSIGN_OR_RETURN(Value mapped, r.filter(name, item, call));
    out.push_back(std::move(mapped));
  }
  return make_list(r, std::move(out));
}

// select / reject: keep items for which the test (or truthiness) is `keep`.
Result<Value> select_items(Renderer& r, const Value& v, CallArgs& args, bool keep,
                           bool by_attribute) {
  if (v.is_none()) return make_list(r, {});
  QUIRE_ASSIGN_OR_RETURN(const std::vector<Value> items, elements(v, "select"));
  size_t next = 0;
  std::string path;
  if (by_attribute) {
    if (args.positional.empty()) return Renderer::error("selectattr expects an attribute name");
    QUIRE_ASSIGN_OR_RETURN(path, r.to_str(args.positional[0]));
    next = 1;
  }
  std::optional<std::string> test;
  if (args.positional.size() > next) {
    if (!args.positional[next].is_string()) return Renderer::error("a test name must be a string");
    test = args.positional[next].as_string();
    ++next;
  }
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(next),
                              args.positional.end());
  test_args.named = args.named;
  std::vector<Value> out;
  for (const Value& item : items) {
    Value subject = item;
    if (by_attribute) {
      QUIRE_ASSIGN_OR_RETURN(subject, attribute_path(r, item, path));
    }
    bool passed = subject.truthy();
    if (test.has_value()) {
      CallArgs call = test_args;
      QUIRE_ASSIGN_OR_RETURN(passed, r.test(*test, subject, call));
    }
    if (passed == keep) out.push_back(item);
  }
  return make_list(r, std::move(out));
}
Result<Value> filter_select(Renderer& r, const Value& v, CallArgs& args) {
  return select_items(r, v, args, true, false);
}
Result<Value> filter_reject(Renderer& r, const Value& v, CallArgs& args) {
  return select_items(r, v, args, false, false);
}
Result<Value> filter_selectattr(Renderer& r, const Value& v, CallArgs& args) {
  return select_items(r, v, args, true, true);
}
Result<Value> filter_rejectattr(Renderer& r, const Value& v, CallArgs& args) {
  return select_items(r, v, args, false, true);
}

Result<Value> filter_replace(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("replace", args, {"old", "new", "count"}));
  QUIRE_ASSIGN_OR_RETURN(const std::string s, r.to_str(v));
  QUIRE_ASSIGN_OR_RETURN(const std::string old_text, r.to_str(p.get(0, Value::string(""))));
  QUIRE_ASSIGN_OR_RETURN(const std::string new_text, r.to_str(p.get(1, Value::string(""))));
  int64_t count = -1;
  if (p.has(2) && !p.get(2).is_none()) {
    QUIRE_ASSIGN_OR_RETURN(count, expect_int(p.get(2), "replace count"));
  }
  QUIRE_RETURN_IF_ERROR(r.charge(s.size() / 2));
  QUIRE_ASSIGN_OR_RETURN(std::string out, replace(r, s, old_text, new_text, count));
  return r.make_string(std::move(out));
}

Result<Value> filter_reverse(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("reverse", args, {}));
  (void)p;
  QUIRE_ASSIGN_OR_RETURN(std::vector<Value> items, elements(v, "reverse"));
  std::reverse(items.begin(), items.end());
  if (!v.is_string()) return make_list(r, std::move(items));
  std::string out;
  for (const Value& c : items) out += c.as_string();
  return r.make_string(std::move(out));
}

Result<Value> filter_string(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("string", args, {}));
  (void)p;
  if (v.is_string()) return v;
  QUIRE_ASSIGN_OR_RETURN(std::string s, r.to_str(v));
  return r.make_string(std::move(s));
}

Result<Value> filter_sort(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p,
                         Params::bind("sort", args, {"reverse", "case_sensitive", "attribute"}));
  QUIRE_ASSIGN_OR_RETURN(const std::vector<Value> items, elements(v, "sort"));
  std::vector<Value> sort_on;
  for (const Value& item : items) {
    if (p.has(2) && !p.get(2).is_none()) {
      QUIRE_ASSIGN_OR_RETURN(const std::string path, r.to_str(p.get(2)));
      QUIRE_ASSIGN_OR_RETURN(Value key, attribute_path(r, item, path));
      sort_on.push_back(std::move(key));
    } else {
      sort_on.push_back(item);
    }
  }
  QUIRE_ASSIGN_OR_RETURN(const std::vector<SortKey> keys,
                         sort_keys(sort_on, p.get(1, Value::boolean(false)).truthy()));
  QUIRE_RETURN_IF_ERROR(r.charge(keys.size() * 8));
  std::vector<Value> out;
  for (const size_t i : sorted_order(keys, p.get(0, Value::boolean(false)).truthy())) {
    out.push_back(items[i]);
  }
  return make_list(r, std::move(out));
}

Result<Value> filter_title(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("title", args, {}));
  (void)p;
  QUIRE_ASSIGN_OR_RETURN(std::string s, r.to_str(v));
  // Python's str.title on ASCII: a letter after a non-letter is upper-cased, others lowered.
  bool previous_alpha = false;
  for (char& c : s) {
    if (is_alpha(c)) {
      c = previous_alpha ? ascii_lower(std::string(1, c))[0] : ascii_upper(std::string(1, c))[0];
      previous_alpha = true;
    } else {
      previous_alpha = false;
    }
  }
  return r.make_string(std::move(s));
}

Result<Value> filter_tojson(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("tojson", args, {"indent", "ensure_ascii"}));
  int64_t indent = -1;
  if (p.has(0) && !p.get(0).is_none()) {
    QUIRE_ASSIGN_OR_RETURN(indent, expect_int(p.get(0), "tojson indent"));
    if (indent < 0 || indent > 64) return Renderer::error("tojson indent must be in [0, 64]");
  }
  std::string out;
  QUIRE_RETURN_IF_ERROR(
      r.to_json(v, static_cast<int>(indent), p.get(1, Value::boolean(false)).truthy(), out));
  return r.make_string(std::move(out));
}

Result<Value> filter_trim(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("trim", args, {"chars"}));
  if (v.is_none()) return v;
  QUIRE_RETURN_IF_ERROR(expect_string(v, "trim"));
  QUIRE_ASSIGN_OR_RETURN(const std::optional<std::string> chars, optional_chars(p, 0));
  return r.make_string(strip(v.as_string(), chars, true, true));
}

Result<Value> filter_unique(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p,
                         Params::bind("unique", args, {"case_sensitive", "attribute"}));
  QUIRE_ASSIGN_OR_RETURN(const std::vector<Value> items, elements(v, "unique"));
  const bool case_sensitive = p.get(0, Value::boolean(false)).truthy();
  std::vector<Value> out;
  std::vector<Value> seen_keys;
  std::unordered_set<std::string> seen_primitive;
  for (const Value& item : items) {
    Value key = item;
    if (p.has(1) && !p.get(1).is_none()) {
      QUIRE_ASSIGN_OR_RETURN(const std::string path, r.to_str(p.get(1)));
      QUIRE_ASSIGN_OR_RETURN(key, attribute_path(r, item, path));
    }
    if (key.is_string() && !case_sensitive) key = Value::string(ascii_lower(key.as_string()));
    bool duplicate = false;
    if (key.is_array() || key.is_object() || key.is_callable()) {
      for (const Value& other : seen_keys) {
        QUIRE_ASSIGN_OR_RETURN(duplicate, r.equals(key, other));
        if (duplicate) break;
      }
      if (!duplicate) seen_keys.push_back(key);
    } else {
      // Numbers compare by value (1 == 1.0), strings and others by kind and text.
      QUIRE_ASSIGN_OR_RETURN(std::string text, r.to_str(key));
      if (key.is_number()) text = "n" + format_json_double(key.to_double());
      if (key.is_string()) text = "s" + text;
      duplicate = !seen_primitive.insert(std::move(text)).second;
    }
    if (!duplicate) out.push_back(item);
  }
  return make_list(r, std::move(out));
}

Result<Value> filter_sum(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("sum", args, {"attribute", "start"}));
  QUIRE_ASSIGN_OR_RETURN(const std::vector<Value> items, elements(v, "sum"));
  Value total = p.get(1, Value::integer(0));
  for (const Value& item : items) {
    Value term = item;
    if (p.has(0) && !p.get(0).is_none()) {
      QUIRE_ASSIGN_OR_RETURN(const std::string path, r.to_str(p.get(0)));
      QUIRE_ASSIGN_OR_RETURN(term, attribute_path(r, item, path));
    }
    if (!term.is_number() || !total.is_number()) {
      return Renderer::error("sum expects numbers, got " + type_name(term));
    }
    if (total.is_int() && term.is_int()) {
      int64_t s = 0;
      if (__builtin_add_overflow(total.as_int(), term.as_int(), &s)) {
        return Renderer::error("integer overflow");
      }
      total = Value::integer(s);
    } else {
      total = Value::number(total.to_double() + term.to_double());
    }
  }
  return total;
}

struct FilterEntry {
  std::string_view name;
  FilterFunction function;
};

// Sorted by name.
constexpr FilterEntry kFilters[] = {
    {"abs", filter_abs},
    {"capitalize", filter_capitalize},
    {"count", filter_length},
    {"d", filter_default},
    {"default", filter_default},
    {"dictsort", filter_dictsort},
    {"e", filter_escape},
    {"escape", filter_escape},
    {"first", filter_first},
    {"float", filter_float},
    {"indent", filter_indent},
    {"int", filter_int},
    {"items", filter_items},
    {"join", filter_join},
    {"last", filter_last},
    {"length", filter_length},
    {"list", filter_list},
    {"lower", filter_lower},
    {"map", filter_map},
    {"reject", filter_reject},
    {"rejectattr", filter_rejectattr},
    {"replace", filter_replace},
    {"reverse", filter_reverse},
    {"safe", filter_string},
    {"select", filter_select},
    {"selectattr", filter_selectattr},
    {"sort", filter_sort},
    {"string", filter_string},
    {"sum", filter_sum},
    {"title", filter_title},
    {"tojson", filter_tojson},
    {"trim", filter_trim},
    {"unique", filter_unique},
    {"upper", filter_upper},
};

// ---- tests -------------------------------------------------------------------------------------

using TestFunction = Result<bool> (*)(Renderer&, const Value&, CallArgs&);

Result<Value> one_argument(std::string_view test, CallArgs& args) {
  if (args.positional.size() != 1 || !args.named.empty()) {
    return Renderer::error("test '" + std::string(test) + "' takes one argument");
  }
  return args.positional[0];
}
Status no_arguments(std::string_view test, const CallArgs& args) {
  if (args.positional.empty() && args.named.empty()) return ok_status();
  return Renderer::error("test '" + std::string(test) + "' takes no arguments");
}

#define QUIRE_JINJA_KIND_TEST(function_name, test_name, condition)        \
  Result<bool> function_name(Renderer&, const Value& v, CallArgs& args) { \
    QUIRE_RETURN_IF_ERROR(no_arguments(test_name, args));                 \
    return (condition);                                                   \
  }

QUIRE_JINJA_KIND_TEST(test_boolean, "boolean", v.is_bool())
QUIRE_JINJA_KIND_TEST(test_callable, "callable", v.is_callable())
QUIRE_JINJA_KIND_TEST(test_defined, "defined", !v.is_none())
QUIRE_JINJA_KIND_TEST(test_false, "false", v.is_bool() && !v.as_bool())
QUIRE_JINJA_KIND_TEST(test_float, "float", v.is_float())
QUIRE_JINJA_KIND_TEST(test_integer, "integer", v.is_int())
QUIRE_JINJA_KIND_TEST(test_iterable, "iterable", v.is_array() || v.is_object() || v.is_string())
QUIRE_JINJA_KIND_TEST(test_mapping, "mapping", v.is_object())
QUIRE_JINJA_KIND_TEST(test_none, "none", v.is_none())
QUIRE_JINJA_KIND_TEST(test_number, "number", v.is_number())
QUIRE_JINJA_KIND_TEST(test_sequence, "sequence", v.is_array() || v.is_object() || v.is_string())
QUIRE_JINJA_KIND_TEST(test_string, "string", v.is_string())
QUIRE_JINJA_KIND_TEST(test_true, "true", v.is_bool() && v.as_bool())
QUIRE_JINJA_KIND_TEST(test_undefined, "undefined", v.is_none())
QUIRE_JINJA_KIND_TEST(test_lower, "lower",
                      v.is_string() && ascii_lower(v.as_string()) == v.as_string())
QUIRE_JINJA_KIND_TEST(test_upper, "upper",
                      v.is_string() && ascii_upper(v.as_string()) == v.as_string())
#undef QUIRE_JINJA_KIND_TEST

Result<bool> test_odd_even(const Value& v, CallArgs& args, bool odd) {
  QUIRE_RETURN_IF_ERROR(no_arguments(odd ? "odd" : "even", args));
  if (!v.is_int()) return Renderer::error("odd/even expect an integer, got " + type_name(v));
  return (v.as_int() % 2 != 0) == odd;
}
Result<bool> test_odd(Renderer&, const Value& v, CallArgs& args) {
  return test_odd_even(v, args, true);
}
Result<bool> test_even(Renderer&, const Value& v, CallArgs& args) {
  return test_odd_even(v, args, false);
}

Result<bool> test_divisibleby(Renderer&, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Value n, one_argument("divisibleby", args));
  if (!v.is_int() || !n.is_int()) return Renderer::error("divisibleby expects integers");
  if (n.as_int() == 0) return Renderer::error("divisibleby 0");
  if (n.as_int() == -1) return true;
  return v.as_int() % n.as_int() == 0;
}

Result<bool> test_eq(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Value other, one_argument("eq", args));
  return r.equals(v, other);
}
Result<bool> test_ne(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Value other, one_argument("ne", args));
  QUIRE_ASSIGN_OR_RETURN(const bool same, r.equals(v, other));
  return !same;
}
Result<bool> compare_test(Renderer& r, const Value& v, CallArgs& args, int want_sign,
                          bool or_equal) {
  QUIRE_ASSIGN_OR_RETURN(const Value other, one_argument("comparison", args));
  QUIRE_ASSIGN_OR_RETURN(const int c, r.compare(v, other));
  return c == want_sign || (or_equal && c == 0);
}
Result<bool> test_lt(Renderer& r, const Value& v, CallArgs& args) {
  return compare_test(r, v, args, -1, false);
}
Result<bool> test_le(Renderer& r, const Value& v, CallArgs& args) {
  return compare_test(r, v, args, -1, true);
}
Result<bool> test_gt(Renderer& r, const Value& v, CallArgs& args) {
  return compare_test(r, v, args, 1, false);
}
Result<bool> test_ge(Renderer& r, const Value& v, CallArgs& args) {
  return compare_test(r, v, args, 1, true);
}
Result<bool> test_in(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Value container, one_argument("in", args));
  return r.contains(container, v);
}
Result<bool> test_sameas(Renderer& r, const Value& v, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Value other, one_argument("sameas", args));
  if (v.kind() != other.kind()) return false;
  if (v.is_array()) return &v.as_array() == &other.as_array();
  if (v.is_object()) return &v.as_object() == &other.as_object();
  return r.equals(v, other);
}

struct TestEntry {
  std::string_view name;
  TestFunction function;
};

// Sorted by name ("!=", "<", "==" ... sort before letters).
constexpr TestEntry kTests[] = {
    {"!=", test_ne},
    {"<", test_lt},
    {"<=", test_le},
    {"==", test_eq},
    {">", test_gt},
    {">=", test_ge},
    {"boolean", test_boolean},
    {"callable", test_callable},
    {"defined", test_defined},
    {"divisibleby", test_divisibleby},
    {"eq", test_eq},
    {"equalto", test_eq},
    {"even", test_even},
    {"false", test_false},
    {"float", test_float},
    {"ge", test_ge},
    {"greaterthan", test_gt},
    {"gt", test_gt},
    {"in", test_in},
    {"integer", test_integer},
    {"iterable", test_iterable},
    {"le", test_le},
    {"lessthan", test_lt},
    {"lower", test_lower},
    {"lt", test_lt},
    {"mapping", test_mapping},
    {"ne", test_ne},
    {"none", test_none},
    {"number", test_number},
    {"odd", test_odd},
    {"sameas", test_sameas},
    {"sequence", test_sequence},
    {"string", test_string},
    {"true", test_true},
    {"undefined", test_undefined},
    {"upper", test_upper},
};

constexpr auto kByName = [](const auto& a, const auto& b) { return a.name < b.name; };
static_assert(std::is_sorted(std::begin(kFilters), std::end(kFilters), kByName));
static_assert(std::is_sorted(std::begin(kTests), std::end(kTests), kByName));

template <typename Entry, size_t N>
const Entry* find_entry(const Entry (&table)[N], std::string_view name) {
  const Entry* it = std::lower_bound(std::begin(table), std::end(table), name,
                                     [](const Entry& e, std::string_view n) { return e.name < n; });
  return it != std::end(table) && it->name == name ? it : nullptr;
}

// ---- methods -----------------------------------------------------------------------------------

Result<Value> string_method(Renderer& r, const std::string& s, const std::string& name,
                            CallArgs& args) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {"chars"}));
    QUIRE_ASSIGN_OR_RETURN(const std::optional<std::string> chars, optional_chars(p, 0));
    return r.make_string(strip(s, chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "upper") return r.make_string(ascii_upper(s));
  if (name == "lower") return r.make_string(ascii_lower(s));
  if (name == "title" || name == "capitalize") {
    return name == "title" ? filter_title(r, Value::string(s), args)
                           : filter_capitalize(r, Value::string(s), args);
  }
  if (name == "startswith" || name == "endswith") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {"prefix"}));
    const Value affix = p.get(0);
    std::vector<Value> candidates;
    if (affix.is_array()) {
      candidates = affix.as_array().items;
    } else {
      candidates.push_back(affix);
    }
    for (const Value& candidate : candidates) {
      QUIRE_RETURN_IF_ERROR(expect_string(candidate, name));
      const std::string& a = candidate.as_string();
      if (name == "startswith" ? s.starts_with(a) : s.ends_with(a)) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  if (name == "split") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {"sep", "maxsplit"}));
    int64_t max_split = -1;
    if (p.has(1)) {
      QUIRE_ASSIGN_OR_RETURN(max_split, expect_int(p.get(1), "maxsplit"));
    }
    QUIRE_RETURN_IF_ERROR(r.charge(s.size() / 2));
    std::vector<Value> parts;
    const Value sep = p.get(0);
    if (sep.is_none()) {  // runs of whitespace, ends ignored
      size_t i = 0;
      while (true) {
        while (i < s.size() && is_space(s[i])) ++i;
        if (i >= s.size()) break;
        if (max_split >= 0 && static_cast<int64_t>(parts.size()) == max_split) {
          size_t end = s.size();
          while (end > i && is_space(s[end - 1])) --end;
          parts.push_back(Value::string(s.substr(i, end - i)));
          break;
        }
        size_t j = i;
        while (j < s.size() && !is_space(s[j])) ++j;
        parts.push_back(Value::string(s.substr(i, j - i)));
        i = j;
      }
    } else {
      QUIRE_RETURN_IF_ERROR(expect_string(sep, "split separator"));
      const std::string& separator = sep.as_string();
      if (separator.empty()) return Renderer::error("split: empty separator");
      size_t begin = 0;
      while (true) {
        const size_t found = s.find(separator, begin);
        if (found == std::string::npos ||
            (max_split >= 0 && static_cast<int64_t>(parts.size()) == max_split)) {
          parts.push_back(Value::string(s.substr(begin)));
          break;
        }
        parts.push_back(Value::string(s.substr(begin, found - begin)));
        begin = found + separator.size();
      }
    }
    return make_list(r, std::move(parts));
  }
  if (name == "replace") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {"old", "new", "count"}));
    QUIRE_RETURN_IF_ERROR(expect_string(p.get(0), "replace"));
    QUIRE_RETURN_IF_ERROR(expect_string(p.get(1), "replace"));
    int64_t count = -1;
    if (p.has(2)) {
      QUIRE_ASSIGN_OR_RETURN(count, expect_int(p.get(2), "replace count"));
    }
    QUIRE_RETURN_IF_ERROR(r.charge(s.size() / 2));
    QUIRE_ASSIGN_OR_RETURN(std::string out,
                           replace(r, s, p.get(0).as_string(), p.get(1).as_string(), count));
    return r.make_string(std::move(out));
  }
  if (name == "find") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {"sub"}));
    QUIRE_RETURN_IF_ERROR(expect_string(p.get(0), "find"));
    const size_t at = s.find(p.get(0).as_string());
    if (at == std::string::npos) return Value::integer(-1);
    return Value::integer(static_cast<int64_t>(code_point_offsets(s.substr(0, at)).size() - 1));
  }
  if (name == "join") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {"iterable"}));
    CallArgs join_args;
    join_args.positional.push_back(Value::string(s));
    return filter_join(r, p.get(0), join_args);
  }
  return Renderer::error("string has no method '" + name + "'");
}

Result<Value> array_method(Renderer& r, const Value& array, const std::string& name,
                           CallArgs& args) {
  auto& items = array.as_array().items;
  if (name == "append") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {"item"}));
    if (!p.has(0)) return Renderer::error("append() takes one argument");
    QUIRE_RETURN_IF_ERROR(r.push(array, p.get(0)));
    return Value();
  }
  if (name == "extend") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {"items"}));
    QUIRE_ASSIGN_OR_RETURN(const std::vector<Value> more, elements(p.get(0), "extend"));
    QUIRE_RETURN_IF_ERROR(r.count_items(more.size()));
    QUIRE_RETURN_IF_ERROR(r.charge(more.size()));
    items.insert(items.end(), more.begin(), more.end());
    return Value();
  }
  if (name == "pop") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {"index"}));
    if (items.empty()) return Renderer::error("pop from an empty list");
    int64_t index = static_cast<int64_t>(items.size()) - 1;
    if (p.has(0)) {
      QUIRE_ASSIGN_OR_RETURN(index, expect_int(p.get(0), "pop index"));
      if (index < 0) index += static_cast<int64_t>(items.size());
    }
    if (index < 0 || index >= static_cast<int64_t>(items.size())) {
      return Renderer::error("pop index out of range");
    }
    QUIRE_RETURN_IF_ERROR(r.charge(items.size()));
    Value out = items[static_cast<size_t>(index)];
    items.erase(items.begin() + index);
    return out;
  }
  if (name == "insert") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {"index", "item"}));
    QUIRE_ASSIGN_OR_RETURN(int64_t index, expect_int(p.get(0), "insert index"));
    const int64_t n = static_cast<int64_t>(items.size());
    if (index < 0) index = std::max<int64_t>(0, index + n);
    index = std::min(index, n);
    QUIRE_RETURN_IF_ERROR(r.count_items(1));
    QUIRE_RETURN_IF_ERROR(r.charge(items.size()));
    items.insert(items.begin() + index, p.get(1));
    return Value();
  }
  return Renderer::error("list has no method '" + name + "'");
}

Result<Value> object_method(Renderer& r, const Value& object, const std::string& name,
                            CallArgs& args) {
  Object& o = object.as_object();
  if (name == "items" || name == "keys" || name == "values") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {}));
    (void)p;
    std::vector<Value> out;
    for (const auto& [key, value] : o.entries) {
      if (name == "keys") {
        out.push_back(Value::string(key));
      } else if (name == "values") {
        out.push_back(value);
      } else {
        QUIRE_ASSIGN_OR_RETURN(Value pair, make_list(r, {Value::string(key), value}));
        out.push_back(std::move(pair));
      }
    }
    return make_list(r, std::move(out));
  }
  if (name == "get" || name == "pop") {
    QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind(name, args, {"key", "default"}));
    const Value key_value = p.get(0);
    if (key_value.is_array() || key_value.is_object() || key_value.is_callable()) {
      return Renderer::error("a dict key cannot be a " + type_name(key_value));
    }
    QUIRE_ASSIGN_OR_RETURN(const std::string key, r.to_str(key_value));
    const Value* found = o.find(key);
    if (found == nullptr) {
      if (name == "pop" && !p.has(1)) return Renderer::error("pop: key '" + key + "' not found");
      return p.get(1);
    }
    Value out = *found;
    if (name == "pop") {
      QUIRE_RETURN_IF_ERROR(r.charge(o.entries.size()));
      o.erase(key);
    }
    return out;
  }
  return Renderer::error("dict has no method '" + name + "'");
}

bool has_method(const Value& v, const std::string& name) {
  static constexpr std::string_view kStringMethods[] = {
      "capitalize", "endswith", "find",       "join",  "lower", "lstrip", "replace",
      "rstrip",     "split",    "startswith", "strip", "title", "upper"};
  static constexpr std::string_view kArrayMethods[] = {"append", "extend", "insert", "pop"};
  static constexpr std::string_view kObjectMethods[] = {"get", "items", "keys", "pop", "values"};
  const auto in = [&name](const auto& list) {
    return std::find(std::begin(list), std::end(list), name) != std::end(list);
  };
  if (v.is_string()) return in(kStringMethods);
  if (v.is_array()) return in(kArrayMethods);
  if (v.is_object()) return in(kObjectMethods);
  return false;
}

// ---- globals
// -------------------------------------------------------------------------------------

Result<Value> global_range(Renderer& r, CallArgs& args) {
  if (!args.named.empty()) return Renderer::error("range() takes no keyword arguments");
  const size_t n = args.positional.size();
  if (n < 1 || n > 3) return Renderer::error("range() takes 1 to 3 arguments");
  int64_t bounds[3] = {0, 0, 1};
  for (size_t i = 0; i < n; ++i) {
    QUIRE_ASSIGN_OR_RETURN(bounds[n == 1 ? 1 : i], expect_int(args.positional[i], "range bound"));
  }
  const int64_t start = bounds[0];
  const int64_t stop = bounds[1];
  const int64_t step = bounds[2];
  if (step == 0) return Renderer::error("range() step cannot be zero");
  // Count first (in 128 bits: no overflow), so huge ranges fail before allocating.
  __int128 count = 0;
  if (step > 0 && stop > start) count = (static_cast<__int128>(stop) - start + step - 1) / step;
  if (step < 0 && stop < start) count = (static_cast<__int128>(start) - stop - step - 1) / -step;
  if (count > static_cast<__int128>(r.options().limits.max_items)) {
    return r.count_items(r.options().limits.max_items + 1);
  }
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(count));
  for (__int128 i = 0; i < count; ++i) {
    items.push_back(Value::integer(static_cast<int64_t>(start + i * step)));
  }
  return make_list(r, std::move(items));
}

Result<Value> global_namespace(Renderer& r, CallArgs& args) {
  Value ns = r.new_object();
  QUIRE_RETURN_IF_ERROR(r.count_items(1));
  for (const Value& v : args.positional) {  // namespace(dict) copies the dict's entries
    if (!v.is_object()) return Renderer::error("namespace() takes keyword arguments or a dict");
    for (const auto& [key, value] : v.as_object().entries) {
      QUIRE_RETURN_IF_ERROR(r.set(ns, key, value));
    }
  }
  for (auto& [key, value] : args.named) QUIRE_RETURN_IF_ERROR(r.set(ns, key, value));
  return ns;
}

Result<Value> global_raise_exception(Renderer& r, CallArgs& args) {
  std::string message = "(no message)";
  if (!args.positional.empty()) {
    QUIRE_ASSIGN_OR_RETURN(message, r.to_str(args.positional[0]));
  }
  return Renderer::error("template raised an error: " + message);
}

Result<Value> global_joiner(Renderer& r, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("joiner", args, {"sep"}));
  QUIRE_ASSIGN_OR_RETURN(const std::string separator, r.to_str(p.get(0, Value::string(", "))));
  auto used = std::make_shared<bool>(false);
  return r.make_callable("joiner", [separator, used](Renderer&, CallArgs&) -> Result<Value> {
    if (!*used) {
      *used = true;
      return Value::string("");
    }
    return Value::string(separator);
  });
}

// strftime on the render's time, UTC. The format is copied through our own loop so that only
// single conversions reach strftime (no surprises from long or odd formats).
Result<Value> strftime_now(Renderer& r, CallArgs& args) {
  QUIRE_ASSIGN_OR_RETURN(const Params p, Params::bind("strftime_now", args, {"format"}));
  QUIRE_RETURN_IF_ERROR(expect_string(p.get(0), "strftime_now"));
  const std::string& format = p.get(0).as_string();
  if (format.size() > 1024) return Renderer::error("strftime_now: format too long");
  const std::time_t t = std::chrono::system_clock::to_time_t(*r.options().now);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return Renderer::error("strftime_now: time out of range");
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 >= format.size()) {
      out += format[i];
      continue;
    }
    const char spec = format[++i];
    static constexpr std::string_view kAllowed = "aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%";
    if (kAllowed.find(spec) == std::string_view::npos) {
      out += '%';
      out += spec;
      continue;
    }
    const char conversion[3] = {'%', spec, '\0'};
    char buf[128];
    const size_t n = std::strftime(buf, sizeof(buf), conversion, &tm);
    out.append(buf, n);
  }
  return r.make_string(std::move(out));
}

}  // namespace

void install_globals(Renderer& renderer, Object& globals) {
  globals.set("range", renderer.make_callable("range", global_range));
  globals.set("namespace", renderer.make_callable("namespace", global_namespace));
  globals.set("dict", renderer.make_callable("dict", global_namespace));
  globals.set("raise_exception", renderer.make_callable("raise_exception", global_raise_exception));
  globals.set("joiner", renderer.make_callable("joiner", global_joiner));
  if (renderer.options().now.has_value()) {
    globals.set("strftime_now", renderer.make_callable("strftime_now", strftime_now));
  }
}

std::optional<Result<Value>> call_method(Renderer& renderer, const Value& object,
                                         const std::string& name, CallArgs& args) {
  if (!has_method(object, name)) return std::nullopt;
  if (object.is_string()) return string_method(renderer, object.as_string(), name, args);
  if (object.is_array()) return array_method(renderer, object, name, args);
  return object_method(renderer, object, name, args);
}

Result<Value> apply_filter(Renderer& renderer, const std::string& name, const Value& input,
                           CallArgs& args) {
  const FilterEntry* entry = find_entry(kFilters, name);
  if (entry == nullptr) return Renderer::error("unknown filter '" + name + "'");
  return entry->function(renderer, input, args);
}

Result<bool> apply_test(Renderer& renderer, const std::string& name, const Value& v,
                        CallArgs& args) {
  const TestEntry* entry = find_entry(kTests, name);
  if (entry == nullptr) return Renderer::error("unknown test '" + name + "'");
  return entry->function(renderer, v, args);
}

}  // namespace quire::engine::jinja
