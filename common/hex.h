// hex.h: hexadecimal digits, for the places both programs parse them (cpio headers, hostids).
#pragma once

namespace zinitrd {

/// The value of the hexadecimal digit C (either case), or -1 when C is not one.
constexpr int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace zinitrd
