// GGUF metadata values: the 13 value types, scalars, strings and (nested) arrays.
//
// A Value owns its data. The variant's index equals the GGUF value-type id, so
// `Value::type()` is the id stored in the file. Arrays of numbers and bools keep their elements
// packed little-endian (as in the file) instead of one Value each, so a 150k-entry score table
// costs its file size in memory, not ten times that.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace quire::engine::gguf {

enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
inline constexpr uint32_t kValueTypeCount = 13;

// "UINT8", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY", ... (gguf-py's spelling).
std::string_view value_type_name(ValueType type);
// The type for a raw id from a file; nullopt when unknown.
std::optional<ValueType> value_type_from_id(uint32_t id);
// Bytes of one element of a fixed-size type (numbers, bool); 0 for string and array.
size_t value_type_size(ValueType type);

template <typename T>
constexpr ValueType value_type_of();
template <>
constexpr ValueType value_type_of<uint8_t>() {
  return ValueType::kUint8;
}
template <>
constexpr ValueType value_type_of<int8_t>() {
  return ValueType::kInt8;
}
template <>
constexpr ValueType value_type_of<uint16_t>() {
  return ValueType::kUint16;
}
template <>
constexpr ValueType value_type_of<int16_t>() {
  return ValueType::kInt16;
}
template <>
constexpr ValueType value_type_of<uint32_t>() {
  return ValueType::kUint32;
}
template <>
constexpr ValueType value_type_of<int32_t>() {
  return ValueType::kInt32;
}
template <>
constexpr ValueType value_type_of<float>() {
  return ValueType::kFloat32;
}
template <>
constexpr ValueType value_type_of<bool>() {
  return ValueType::kBool;
}
template <>
constexpr ValueType value_type_of<uint64_t>() {
  return ValueType::kUint64;
}
template <>
constexpr ValueType value_type_of<int64_t>() {
  return ValueType::kInt64;
}
template <>
constexpr ValueType value_type_of<double>() {
  return ValueType::kFloat64;
}

// An array of one element type. Exactly one of the three stores is used, by elem_type.
struct Array {
  ValueType elem_type = ValueType::kUint8;
  std::vector<uint8_t> raw;          // numbers and bools: count * value_type_size(elem_type) bytes
  std::vector<std::string> strings;  // elem_type == kString
  std::vector<Array> arrays;         // elem_type == kArray (nested)

  size_t size() const;

  template <typename T>
  static Array of(std::span<const T> values) {
    Array a;
    a.elem_type = value_type_of<T>();
    a.raw.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(a.raw.data(), values.data(), a.raw.size());
    return a;
  }
  template <typename T>
  static Array of(const std::vector<T>& values) {
    if constexpr (std::is_same_v<T, bool>) {
      Array a;
      a.elem_type = ValueType::kBool;
      for (bool b : values) a.raw.push_back(b ? 1 : 0);
      return a;
    } else {
      return of(std::span<const T>(values));
    }
  }
  static Array of_strings(std::vector<std::string> values);
  static Array of_arrays(std::vector<Array> values);

  // Element i of a numeric or bool array; T must match elem_type (checked by the caller).
  template <typename T>
  T at(size_t i) const {
    T out;
    std::memcpy(&out, raw.data() + i * sizeof(T), sizeof(T));
    return out;
  }
  // Element i of any numeric array converted to double; nullopt for strings and arrays.
  std::optional<double> number_at(size_t i) const;

  friend bool operator==(const Array& a, const Array& b) {
    return a.elem_type == b.elem_type && a.raw == b.raw && a.strings == b.strings &&
           a.arrays == b.arrays;
  }
};

using ValueVariant = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float,
                                  bool, std::string, Array, uint64_t, int64_t, double>;

struct Value {
  ValueVariant v;

  Value() = default;
  template <typename T, typename = std::enable_if_t<std::is_constructible_v<ValueVariant, T&&> &&
                                                    !std::is_same_v<std::decay_t<T>, Value> &&
                                                    !std::is_same_v<std::decay_t<T>, const char*>>>
  Value(T&& value) : v(std::forward<T>(value)) {}    // NOLINT(google-explicit-constructor)
  Value(const char* text) : v(std::string(text)) {}  // NOLINT(google-explicit-constructor)

  ValueType type() const { return static_cast<ValueType>(v.index()); }

  // Any integer type with a value representable as the result; nullopt otherwise.
  std::optional<uint64_t> as_uint() const;
  std::optional<int64_t> as_int() const;
  // Any integer or float type.
  std::optional<double> as_double() const;
  std::optional<bool> as_bool() const;
  const std::string* as_string() const { return std::get_if<std::string>(&v); }
  const Array* as_array() const { return std::get_if<Array>(&v); }

  // Human-readable: numbers, quoted strings, arrays as "[a, b, ... (n items)]".
  std::string to_display(size_t max_array_items = 8) const;

  // Floats compare by bit pattern, so NaN payloads round-trip as equal.
  friend bool operator==(const Value& a, const Value& b);
};

}  // namespace quire::engine::gguf
