#include "result.h"

#include <cstring>

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

}  // namespace zinitrd
