// Errors as values: Status and Result<T>.
//
// Every function that can fail on input at a folder boundary returns a Status or a Result<T>.
// A Status carries one canonical code and a message that says what, where, expected and got;
// callers add context as the error travels up (`status.with_context("loading model 'x.gguf'")`).
// Codes map once to CLI exit codes and HTTP status codes (exit_code(), http_status()).
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace quire {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed (bad flag, bad request)
  kNotFound,            // a named file, key, document or tensor does not exist
  kFailedPrecondition,  // state forbids the operation (wrong model for this index, ...)
  kResourceExhausted,   // out of memory, queue full, context full
  kUnavailable,         // transient: retry may succeed
  kDeadlineExceeded,    // a deadline passed
  kUnimplemented,       // a valid request we do not support (architecture, tensor type)
  kInternal,            // a bug or an unexpected failure of a dependency
  kDataLoss,            // a file is corrupt or truncated
};

// Canonical name, e.g. "INVALID_ARGUMENT".
std::string_view status_code_name(StatusCode code);

// Process exit code for the CLI: 0 for kOk, distinct small integers otherwise (see status.cpp).
int exit_code(StatusCode code);

// HTTP status for the API (200, 400, 404, 409, 429, 503, 504, 501, 500, 422).
int http_status(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message". An OK status stays OK.
  Status with_context(std::string_view context) const&;
  Status with_context(std::string_view context) &&;

  // "INVALID_ARGUMENT: message" (or "OK").
  std::string to_string() const;

  // Marks a status as deliberately ignored.
  void ignore() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status ok_status() {
  return Status();
}
Status invalid_argument_error(std::string message);
Status not_found_error(std::string message);
Status failed_precondition_error(std::string message);
Status resource_exhausted_error(std::string message);
Status unavailable_error(std::string message);
Status deadline_exceeded_error(std::string message);
Status unimplemented_error(std::string message);
Status internal_error(std::string message);
Status data_loss_error(std::string message);

// Status from errno of a failed system call: ENOENT -> kNotFound, EACCES -> kFailedPrecondition,
// ENOMEM -> kResourceExhausted, otherwise kInternal. The message is "what: strerror(errno)".
Status errno_error(int err, std::string_view what);

// A value or an error. Holding an OK status without a value is a bug and aborts.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(data_).ok()) {
      std::abort();  // a Result must hold a value or an error
    }
  }

  bool ok() const { return std::holds_alternative<T>(data_); }

  // The error; an OK status when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(data_); }

  // Access to the value: calling these on an error is a bug and aborts.
  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T& operator*() & { return checked(); }
  const T& operator*() const& { return const_cast<Result*>(this)->checked(); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->checked(); }

  T value_or(T fallback) const& { return ok() ? std::get<T>(data_) : std::move(fallback); }

 private:
  T& checked() {
    if (!ok()) std::abort();
    return std::get<T>(data_);
  }
  std::variant<T, Status> data_;
};

}  // namespace quire

#define QUIRE_CONCAT_INNER_(a, b) a##b
#define QUIRE_CONCAT_(a, b) QUIRE_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` (a Status) is not OK.
#define QUIRE_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::quire::Status quire_status_ = (expr);        \
    if (!quire_status_.ok()) return quire_status_; \
  } while (0)

// `QUIRE_ASSIGN_OR_RETURN(auto x, f());` declares x from a Result, or returns its error.
#define QUIRE_ASSIGN_OR_RETURN(lhs, expr) \
  QUIRE_ASSIGN_OR_RETURN_IMPL_(QUIRE_CONCAT_(quire_result_, __LINE__), lhs, expr)
#define QUIRE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
