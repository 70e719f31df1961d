// main.cc: the multi-call entry of the static /init.
//
// As PID 1 (the kernel runs /init) or when started as /init without arguments, it boots and never
// returns. Otherwise it is a command: `init load-modules [NAME...]`, `--help`, `--version`.
// Before anything else, the fatal handlers (fatal.h) replace abort(): as PID 1 an out-of-memory,
// an uncaught library exception or a crash reports itself and goes to the rescue shell, then
// restarts the boot, instead of panicking the kernel.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "boot.h"
#include "fatal.h"
#include "load_modules_command.h"

namespace {

void usage(FILE* out) {
  fprintf(
      out,
      "usage: init                      boot (as PID 1, from the initramfs)\n"
      "       init load-modules [NAME...]\n"
      "                                 load NAME (or the image's boot modules and the drivers of\n"
      "                                 present devices) with dependencies and options\n"
      "       init --help | --version\n"
      "\n"
      "zinitrd's /init: imports the ZFS root pool named on the kernel command line\n"
      "(root=zfs:POOL/DATASET, root=ZFS=..., zfs=..., root=zfs:AUTO), mounts it on /sysroot\n"
      "and switches to it. Its log is /run/zinitrd/boot.log.\n");
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  zinitrd::rt::FatalConfig fatal;
  fatal.pid1 = ::getpid() == 1;
  fatal.argv = argv;
  zinitrd::rt::install_fatal_handlers(fatal);
  // The kernel passes unknown command-line words as arguments to PID 1: never parse them.
  if (::getpid() == 1 || (argc == 1 && argv[0] && strcmp(argv[0], "/init") == 0))
    zinitrd::rt::boot_main(argc, argv, envp);
  const char* cmd = argc > 1 ? argv[1] : "";
  if (!strcmp(cmd, "load-modules")) {
    std::vector<std::string> names(argv + 2, argv + argc);
    return zinitrd::rt::load_modules_command(names);
  }
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("zinitrd init %s\n", ZINITRD_VERSION);
    return 0;
  }
  usage(stderr);
  return 2;
}
