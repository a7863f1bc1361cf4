#include "engine/core/status.h"

#include <cerrno>
#include <cstring>

namespace quire {

std::string_view status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case StatusCode::kNotFound:
      return "NOT_FOUND";
    case StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case StatusCode::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case StatusCode::kUnimplemented:
      return "UNIMPLEMENTED";
    case StatusCode::kInternal:
      return "INTERNAL";
    case StatusCode::kDataLoss:
      return "DATA_LOSS";
  }
  return "UNKNOWN";
}

// Exit codes: 1 is kept for "internal", 2 for usage errors as shells expect; the rest follow.
int exit_code(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInternal:
      return 1;
    case StatusCode::kInvalidArgument:
      return 2;
    case StatusCode::kNotFound:
      return 3;
    case StatusCode::kFailedPrecondition:
      return 4;
    case StatusCode::kResourceExhausted:
      return 5;
    case StatusCode::kUnavailable:
      return 6;
    case StatusCode::kDeadlineExceeded:
      return 7;
    case StatusCode::kUnimplemented:
      return 8;
    case StatusCode::kDataLoss:
      return 9;
  }
  return 1;
}

int http_status(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kInternal:
      return 500;
    case StatusCode::kDataLoss:
      return 422;
  }
  return 500;
}

Status Status::with_context(std::string_view context) const& {
  if (ok()) return *this;
  return Status(code_, std::string(context) + ": " + message_);
}

Status Status::with_context(std::string_view context) && {
  if (ok()) return std::move(*this);
  message_.insert(0, std::string(context) + ": ");
  return std::move(*this);
}

std::string Status::to_string() const {
  if (ok()) return "OK";
  return std::string(status_code_name(code_)) + ": " + message_;
}

Status invalid_argument_error(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
Status not_found_error(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
Status failed_precondition_error(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
Status resource_exhausted_error(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
Status unavailable_error(std::string m) {
  return {StatusCode::kUnavailable, std::move(m)};
}
Status deadline_exceeded_error(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
Status unimplemented_error(std::string m) {
  return {StatusCode::kUnimplemented, std::move(m)};
}
Status internal_error(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}
Status data_loss_error(std::string m) {
  return {StatusCode::kDataLoss, std::move(m)};
}

Status errno_error(int err, std::string_view what) {
  std::string message = std::string(what) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return not_found_error(std::move(message));
    case EACCES:
    case EPERM:
    case EISDIR:
      return failed_precondition_error(std::move(message));
    case ENOMEM:
    case ENOSPC:
      return resource_exhausted_error(std::move(message));
    default:
      return internal_error(std::move(message));
  }
}

}  // namespace quire
