// zinitrd: builds and inspects initramfs images for ZFS-on-root systems. See cli.cc.
#include <cstdio>
#include <new>

#include "cli.h"
#include "image_writer.h"

int main(int argc, char** argv) {
  try {
    return zinitrd::gen::run_cli(argc, argv);
  } catch (const std::bad_alloc&) {
    // An image is written to an unnamed temporary file and renamed only when complete: none
    // replaced the previous one.
    std::fprintf(stderr, "zinitrd: out of memory; no image was replaced. %s\n",
                 zinitrd::gen::kLessMemoryAdvice);
    return 1;
  }
}
