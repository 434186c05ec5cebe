// Status and StatusOr: the result of every fallible operation in lightrl.
//
// A Status is either OK or carries a code and a human-readable message. The codes
// that can cross the wire map onto the retry classes of proto::Error (docs/architecture.md):
//   kResourceExhausted -> overloaded (back off and retry)
//   kUnavailable       -> disconnected (reconnect and retry)
//   kUnimplemented     -> unimplemented (fall back)
//   everything else    -> failed (report)
// Errors are matched by code, never by message text.
//
// Thread-safety: Status and StatusOr are values; distinct objects may be used from
// different threads, one object needs external synchronization.
#ifndef LIGHTRL_CORE_STATUS_H_
#define LIGHTRL_CORE_STATUS_H_

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace lightrl {

enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
};

// Returns the canonical name of `code`, e.g. "INVALID_ARGUMENT".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status.
  Status() = default;
  // A status with `code` and `message`. A kOk code yields an OK status and drops the message.
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return ok() ? StatusCode::kOk : state_->code; }
  // The message; empty for OK.
  std::string_view message() const;

  // "OK" or "CODE: message".
  std::string ToString() const;

  // Returns a copy whose message is "`context`: <old message>". OK stays OK.
  Status WithContext(std::string_view context) const;

  // Explicitly ignores this status (for best-effort cleanup paths).
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  // Null for OK; shared because Status is copied far more often than it is mutated.
  std::shared_ptr<const State> state_;
};

std::ostream& operator<<(std::ostream& os, const Status& status);

// Named constructors.
Status CancelledError(std::string message);
Status InvalidArgumentError(std::string message);
Status DeadlineExceededError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status ResourceExhaustedError(std::string message);
Status FailedPreconditionError(std::string message);
Status AbortedError(std::string message);
Status OutOfRangeError(std::string message);
Status UnimplementedError(std::string message);
Status InternalError(std::string message);
Status UnavailableError(std::string message);
Status DataLossError(std::string message);

// Either a value of type T or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  // Dies (in debug and release) if `status` is OK: a StatusOr needs a value or an error.
  StatusOr(Status status) : data_(std::move(status)) { CheckNotOk(); }  // NOLINT
  StatusOr(const T& value) : data_(value) {}                            // NOLINT
  StatusOr(T&& value) : data_(std::move(value)) {}                      // NOLINT
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Status> &&
           !std::is_same_v<std::decay_t<U>, StatusOr<T>> && !std::is_same_v<std::decay_t<U>, T>)
      StatusOr(U&& value)
      : data_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(data_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(data_); }

  // Access to the value; dies if there is none.
  const T& value() const& {
    CheckOk();
    return std::get<T>(data_);
  }
  T& value() & {
    CheckOk();
    return std::get<T>(data_);
  }
  T&& value() && {
    CheckOk();
    return std::get<T>(std::move(data_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  void CheckOk() const;
  void CheckNotOk() const;
  std::variant<Status, T> data_;
};

namespace internal {
[[noreturn]] void DieOnBadStatusOrAccess(const Status& status);
[[noreturn]] void DieOnOkStatusInStatusOr();
}  // namespace internal

template <typename T>
void StatusOr<T>::CheckOk() const {
  if (!ok()) internal::DieOnBadStatusOrAccess(std::get<Status>(data_));
}

template <typename T>
void StatusOr<T>::CheckNotOk() const {
  if (std::get<Status>(data_).ok()) internal::DieOnOkStatusInStatusOr();
}

}  // namespace lightrl

#define LIGHTRL_STATUS_CONCAT_INNER_(a, b) a##b
#define LIGHTRL_STATUS_CONCAT_(a, b) LIGHTRL_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (a Status); returns it from the enclosing function if it is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::lightrl::Status lightrl_status_ = (expr);        \
    if (!lightrl_status_.ok()) return lightrl_status_; \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (a StatusOr<T>); on error returns its
// status from the enclosing function, otherwise moves the value into `lhs`, which may be
// a declaration ("auto x") or an existing variable.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(LIGHTRL_STATUS_CONCAT_(lightrl_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()

#endif  // LIGHTRL_CORE_STATUS_H_
