// fuzz_image_reader.cc: `zinitrd ls|cat|extract` on hostile images. The input is written to a
// file (the reader mmaps its image), listed, one member read, and extracted into OUT; afterwards
// the scratch directory must hold nothing but the image and OUT (extract never writes outside).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "image_reader.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path dir =
      fs::temp_directory_path() / ("zinitrd-fuzz-" + std::to_string(getpid()));
  // OUT is nested so that a write one or two levels above it is caught too.
  static const fs::path image = dir / "image", out = dir / "a" / "b" / "out";
  fs::create_directories(dir);
  {
    std::ofstream f(image, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  (void)zinitrd::gen::list_image(image.string());
  (void)zinitrd::gen::read_image_member(image.string(), "/init");
  std::vector<std::string> warnings;
  (void)zinitrd::gen::extract_image(image.string(), out.string(), &warnings);
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    const fs::path& p = it->path();
    if (p == out) {
      it.disable_recursion_pending();
      continue;
    }
    if (p != image && p != dir / "a" && p != dir / "a" / "b") {
      std::fprintf(stderr, "extract wrote outside its directory: %s\n", p.c_str());
      std::abort();
    }
  }
  std::error_code ec;
  fs::remove_all(out, ec);
  return 0;
}
