// fuzz_uevent.cc: the runtime's reader of kernel uevent messages (PID 1 reads them from a netlink
// socket while it waits for disks). Invariant beyond "no crash": a message that parses has an
// action, and its fields are disjoint pieces of the message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "modalias.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view message(reinterpret_cast<const char*>(data), size);
  zinitrd::rt::Uevent event;
  if (zinitrd::rt::parse_uevent(message, event)) {
    const size_t fields = event.action.size() + event.devpath.size() + event.subsystem.size() +
                          event.modalias.size() + event.devname.size();
    if (event.action.empty() || fields > size) std::abort();  // disjoint parts of the message
  }
  return 0;
}
