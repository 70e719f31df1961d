// fuzz_config_file.cc: /etc/zinitrd.conf as `zinitrd build` reads it (Boost.Program_options' INI
// parser and the option conversions). Any exception other than the reported po::error escapes
// check_config_text() and aborts the run.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cli.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)zinitrd::gen::check_config_text(text);
  return 0;
}
