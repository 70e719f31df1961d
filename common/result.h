// result.h: the one error type of zinitrd, and Result<T>, used by both the generator and the
// runtime. No exceptions cross module boundaries (the runtime is built with -fno-exceptions), so
// library code returns a Result and the top level reports it once.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace zinitrd {

/// What failed, on what path, and the errno text: "open '/lib/modules/x': No such file or
/// directory".
struct Error {
  std::string message;  ///< complete, user-visible sentence (without trailing newline)
  int errnum = 0;       ///< saved errno, 0 when not a system call failure

  /// Error with a plain message.
  static Error msg(std::string message) { return Error{std::move(message), 0}; }
  /// Error for a failed system call: "WHAT 'PATH': strerror(errnum)".
  static Error sys(std::string_view what, std::string_view path, int errnum);
};

/// Reports a Result accessed for what it does not hold (a bug), then calls std::terminate():
/// writes "zinitrd: internal error: WHAT (...)" to stderr and keeps it for
/// bad_result_access_message(). The runtime's terminate handler takes PID 1 to its rescue path;
/// elsewhere the default handler aborts.
[[noreturn]] void bad_result_access(const char* what, const Error* error);

/// The message of the last bad_result_access() ("" when none), for terminate handlers. It lives
/// in a static buffer: reading it allocates nothing.
const char* bad_result_access_message();

/// Either a value or an Error. Minimal stand-in for C++23 std::expected. Every access is checked:
/// the value of an Error (or the error of a value) is never dereferenced.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  /// True when a value is held.
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  /// The value; calls bad_result_access() when an Error is held.
  T& value() & { return *checked_value(); }
  const T& value() const& { return *checked_value(); }
  T&& value() && { return std::move(*checked_value()); }
  T* operator->() { return checked_value(); }
  const T* operator->() const { return checked_value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  /// The error; calls bad_result_access() when a value is held.
  const Error& error() const {
    const Error* e = std::get_if<1>(&v_);
    if (!e) bad_result_access("error() of a Result that holds a value", nullptr);
    return *e;
  }

 private:
  T* checked_value() {
    T* v = std::get_if<0>(&v_);
    if (!v) bad_result_access("value of a Result that holds an error", std::get_if<1>(&v_));
    return v;
  }
  const T* checked_value() const { return const_cast<Result*>(this)->checked_value(); }

  std::variant<T, Error> v_;
};

/// Success or an Error, for operations without a value.
struct Ok {};
using Status = Result<Ok>;

}  // namespace zinitrd
