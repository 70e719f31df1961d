#include "result.h"

#include <cstdio>
#include <cstring>
#include <exception>

namespace zinitrd {

Error Error::sys(std::string_view what, std::string_view path, int errnum) {
  std::string m(what);
  if (!path.empty()) {
    m += " '";
    m += path;
    m += "'";
  }
  m += ": ";
  m += std::strerror(errnum);
  return Error{std::move(m), errnum};
}

namespace {
char bad_access_message[512];
}  // namespace

void bad_result_access(const char* what, const Error* error) {
  std::snprintf(bad_access_message, sizeof bad_access_message, "internal error: %s%s%s%s", what,
                error ? " (the error: " : "", error ? error->message.c_str() : "",
                error ? ")" : "");
  std::fprintf(stderr, "zinitrd: %s\n", bad_access_message);
  std::terminate();
}

const char* bad_result_access_message() { return bad_access_message; }

}  // namespace zinitrd
