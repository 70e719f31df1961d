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

/// Either a value or an Error. Minimal stand-in for C++23 std::expected.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  /// True when a value is held.
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  /// The value; only valid when ok().
  T& value() & { return *std::get_if<0>(&v_); }
  const T& value() const& { return *std::get_if<0>(&v_); }
  T&& value() && { return std::move(*std::get_if<0>(&v_)); }
  T* operator->() { return std::get_if<0>(&v_); }
  const T* operator->() const { return std::get_if<0>(&v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  /// The error; only valid when !ok().
  const Error& error() const { return *std::get_if<1>(&v_); }

 private:
  std::variant<T, Error> v_;
};

/// Success or an Error, for operations without a value.
struct Ok {};
using Status = Result<Ok>;

}  // namespace zinitrd
