// fuzz_boot_config.cc: the in-image boot configuration reader (the runtime parses it as PID 1).
// Invariant: whatever parses writes back to text that parses to the same configuration.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "boot_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = zinitrd::parse_boot_config(text);
  if (!parsed) return 0;
  auto again = zinitrd::parse_boot_config(zinitrd::write_boot_config(*parsed));
  if (!again || !(*again == *parsed)) std::abort();
  return 0;
}
