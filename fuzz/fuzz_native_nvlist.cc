// fuzz_native_nvlist.cc: the runtime's reader of natively encoded nvlists, the kernel's ioctl
// replies (a dataset's properties while /init lists the root's children). The kernel writes them,
// but a reader that trusts sizes read from a buffer must stay inside it whatever they say.
// Invariants beyond "no crash": what parses reads back from the reply the mount stage builds on
// it (every listed property of every nested list is reachable without leaving the buffer).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "native_nvlist.h"

using namespace zinitrd::rt;

namespace {
size_t walk(const NvList& l, int depth) {
  size_t n = 0;
  for (const auto& p : l.pairs) {
    n += p.name.size() + p.value.size();
    if (p.type == kNvUint64) n += l.number(p.name).value_or(0) & 1;
    if (p.type == kNvString) n += l.text(p.name).value_or("").size();
    for (const auto& e : p.lists) n += walk(e, depth + 1);
  }
  if (depth > 17) __builtin_trap();  // deeper than the reader admits
  return n;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto list = parse_native_nvlist(bytes)) walk(*list, 0);
  return 0;
}
