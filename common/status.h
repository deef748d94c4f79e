// Status and Result<T>: errors as values across module boundaries.
//
// A Status is either OK or carries a code and a human-readable message that names the
// problem (e.g. "tensor 'blk.0.attn_q.weight': data offset 1234 + size 5678 exceeds file size
// 4096"). Result<T> holds either a T or a non-OK Status. Neither type throws. Both are cheap to
// move and safe to copy; they are not synchronised (use one per thread or guard externally).
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace spatten {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // the caller's input is malformed (request, file contents, flags)
  kNotFound,          // a named thing (file, tensor, key) does not exist
  kOutOfRange,        // an index / offset / size lies outside what is valid
  kUnimplemented,     // valid input using a feature this build does not support
  kResourceExhausted, // memory, queue or budget exhausted
  kFailedPrecondition,
  kUnavailable,
  kCancelled,
  kDeadlineExceeded,
  kInternal,          // a bug: an invariant of ours was broken
  kIoError,           // the operating system refused an I/O operation
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message", or "OK".
  std::string ToString() const;

  // Prefixes the message with context, keeping the code: "loading model: <old message>".
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
inline Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
inline Status OutOfRange(std::string msg) { return {StatusCode::kOutOfRange, std::move(msg)}; }
inline Status Unimplemented(std::string msg) { return {StatusCode::kUnimplemented, std::move(msg)}; }
inline Status ResourceExhausted(std::string msg) { return {StatusCode::kResourceExhausted, std::move(msg)}; }
inline Status FailedPrecondition(std::string msg) { return {StatusCode::kFailedPrecondition, std::move(msg)}; }
inline Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }
inline Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status carries no value");
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace spatten

// Propagates a non-OK Status from an expression returning Status.
#define SPATTEN_RETURN_IF_ERROR(expr)              \
  do {                                             \
    ::spatten::Status spatten_status_ = (expr);    \
    if (!spatten_status_.ok()) return spatten_status_; \
  } while (0)

#define SPATTEN_CONCAT_INNER_(a, b) a##b
#define SPATTEN_CONCAT_(a, b) SPATTEN_CONCAT_INNER_(a, b)
// Declares `lhs` from a Result<T> expression, or returns its Status.
#define SPATTEN_ASSIGN_OR_RETURN(lhs, expr)                                  \
  auto SPATTEN_CONCAT_(spatten_result_, __LINE__) = (expr);                  \
  if (!SPATTEN_CONCAT_(spatten_result_, __LINE__).ok())                      \
    return SPATTEN_CONCAT_(spatten_result_, __LINE__).status();              \
  lhs = std::move(SPATTEN_CONCAT_(spatten_result_, __LINE__)).value()
