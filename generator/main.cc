// zinitrd: builds and inspects initramfs images for ZFS-on-root systems. See cli.cc.
#include "cli.h"

int main(int argc, char** argv) { return zinitrd::gen::run_cli(argc, argv); }
