#include "engine/gguf/gguf_value.h"

#include <cinttypes>
#include <cstdio>
#include <limits>

namespace quire::engine::gguf {

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::kUint8:
      return "UINT8";
    case ValueType::kInt8:
      return "INT8";
    case ValueType::kUint16:
      return "UINT16";
    case ValueType::kInt16:
      return "INT16";
    case ValueType::kUint32:
      return "UINT32";
    case ValueType::kInt32:
      return "INT32";
    case ValueType::kFloat32:
      return "FLOAT32";
    case ValueType::kBool:
      return "BOOL";
    case ValueType::kString:
      return "STRING";
    case ValueType::kArray:
      return "ARRAY";
    case ValueType::kUint64:
      return "UINT64";
    case ValueType::kInt64:
      return "INT64";
    case ValueType::kFloat64:
      return "FLOAT64";
  }
  return "?";
}

std::optional<ValueType> value_type_from_id(uint32_t id) {
  if (id >= kValueTypeCount) return std::nullopt;
  return static_cast<ValueType>(id);
}

size_t value_type_size(ValueType type) {
  switch (type) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kBool:
      return 1;
    case ValueType::kUint16:
    case ValueType::kInt16:
      return 2;
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kFloat32:
      return 4;
    case ValueType::kUint64:
    case ValueType::kInt64:
    case ValueType::kFloat64:
      return 8;
    case ValueType::kString:
    case ValueType::kArray:
      return 0;
  }
  return 0;
}

size_t Array::size() const {
  switch (elem_type) {
    case ValueType::kString:
      return strings.size();
    case ValueType::kArray:
      return arrays.size();
    default:
      return raw.size() / value_type_size(elem_type);
  }
}

Array Array::of_strings(std::vector<std::string> values) {
  Array a;
  a.elem_type = ValueType::kString;
  a.strings = std::move(values);
  return a;
}

Array Array::of_arrays(std::vector<Array> values) {
  Array a;
  a.elem_type = ValueType::kArray;
  a.arrays = std::move(values);
  return a;
}

std::optional<double> Array::number_at(size_t i) const {
  if (i >= size()) return std::nullopt;
  switch (elem_type) {
    case ValueType::kUint8:
      return at<uint8_t>(i);
    case ValueType::kInt8:
      return at<int8_t>(i);
    case ValueType::kUint16:
      return at<uint16_t>(i);
    case ValueType::kInt16:
      return at<int16_t>(i);
    case ValueType::kUint32:
      return at<uint32_t>(i);
    case ValueType::kInt32:
      return at<int32_t>(i);
    case ValueType::kFloat32:
      return at<float>(i);
    case ValueType::kBool:
      return raw[i] != 0 ? 1.0 : 0.0;
    case ValueType::kUint64:
      return static_cast<double>(at<uint64_t>(i));
    case ValueType::kInt64:
      return static_cast<double>(at<int64_t>(i));
    case ValueType::kFloat64:
      return at<double>(i);
    case ValueType::kString:
    case ValueType::kArray:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<uint64_t> Value::as_uint() const {
  return std::visit(
      [](const auto& x) -> std::optional<uint64_t> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          if constexpr (std::is_signed_v<T>) {
            if (x < 0) return std::nullopt;
          }
          return static_cast<uint64_t>(x);
        } else {
          return std::nullopt;
        }
      },
      v);
}

std::optional<int64_t> Value::as_int() const {
  return std::visit(
      [](const auto& x) -> std::optional<int64_t> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, uint64_t>) {
          if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
          return static_cast<int64_t>(x);
        } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<int64_t>(x);
        } else {
          return std::nullopt;
        }
      },
      v);
}

std::optional<double> Value::as_double() const {
  return std::visit(
      [](const auto& x) -> std::optional<double> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
          return static_cast<double>(x);
        } else {
          return std::nullopt;
        }
      },
      v);
}

std::optional<bool> Value::as_bool() const {
  if (const bool* b = std::get_if<bool>(&v)) return *b;
  return std::nullopt;
}

namespace {

std::string format_double(double x) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", x);
  return buf;
}

std::string quote(const std::string& s, size_t max_chars = 120) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    if (n++ >= max_chars) {
      out += "...";
      break;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"') {
      out += "\\\"";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string array_display(const Array& a, size_t max_items) {
  std::string out = "[";
  const size_t n = a.size();
  for (size_t i = 0; i < n && i < max_items; ++i) {
    if (i > 0) out += ", ";
    if (a.elem_type == ValueType::kString) {
      out += quote(a.strings[i], 40);
    } else if (a.elem_type == ValueType::kArray) {
      out += array_display(a.arrays[i], max_items);
    } else if (a.elem_type == ValueType::kBool) {
      out += a.raw[i] != 0 ? "true" : "false";
    } else if (a.elem_type == ValueType::kFloat32 || a.elem_type == ValueType::kFloat64) {
      out += format_double(*a.number_at(i));
    } else if (a.elem_type == ValueType::kUint64) {
      out += std::to_string(a.at<uint64_t>(i));
    } else if (a.elem_type == ValueType::kInt64) {
      out += std::to_string(a.at<int64_t>(i));
    } else {
      out += std::to_string(static_cast<int64_t>(*a.number_at(i)));
    }
  }
  if (n > max_items) out += ", ...";
  out += "]";
  if (n > max_items) out += " (" + std::to_string(n) + " items)";
  return out;
}

}  // namespace

std::string Value::to_display(size_t max_array_items) const {
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return quote(x);
        } else if constexpr (std::is_same_v<T, Array>) {
          return array_display(x, max_array_items);
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_floating_point_v<T>) {
          return format_double(x);
        } else {
          return std::to_string(x);
        }
      },
      v);
}

bool operator==(const Value& a, const Value& b) {
  if (a.v.index() != b.v.index()) return false;
  return std::visit(
      [&](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b.v);
        if constexpr (std::is_floating_point_v<T>) {
          return std::memcmp(&x, &y, sizeof(T)) == 0;
        } else {
          return x == y;
        }
      },
      a.v);
}

}  // namespace quire::engine::gguf
