// modalias_test.cc: alias matching, uevent parsing and the sysfs walk (on a fixture tree).
#include "modalias.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "util.h"

using namespace zinitrd::rt;

namespace {

std::vector<zinitrd::BootAlias> table() {
  return {
      {"pci:v00001AF4d00001001sv*sd*bc*sc*i*", "virtio_blk"},
      {"pci:v00001AF4d*sv*sd*bc*sc*i*", "virtio_pci"},
      {"virtio:d00000002v*", "virtio_blk"},
      {"pci:v*d*sv*sd*bc01sc08i02*", "nvme"},
      {"usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*", "usb-storage"},
      {"pci:v*d*sv*sd*bc01sc06i01*", "ahci"},
  };
}

}  // namespace

TEST_CASE("fnmatch aliases select the drivers of a device") {
  auto t = table();
  CHECK(match_modalias(t, "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00") ==
        std::vector<std::string>{"virtio_blk", "virtio_pci"});
  CHECK(match_modalias(t, "virtio:d00000002v00001AF4") == std::vector<std::string>{"virtio_blk"});
  CHECK(match_modalias(t, "pci:v0000144Dd0000A808sv0000144Dsd0000A801bc01sc08i02") ==
        std::vector<std::string>{"nvme"});
  CHECK(match_modalias(t, "usb:v0781p5581d0100dc00dsc00dp00ic08isc06ip50in00") ==
        std::vector<std::string>{"usb_storage"});
  CHECK(match_modalias(t, "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01") ==
        std::vector<std::string>{"ahci"});
  CHECK(match_modalias(t, "pci:v00008086d00001237sv00001AF4sd00001100bc06sc00i00").empty());
  CHECK(match_modalias(t, "").empty());
  CHECK(match_modalias({}, "virtio:d00000002v00001AF4").empty());
}

TEST_CASE("patterns without wildcards match exactly, brackets work") {
  std::vector<zinitrd::BootAlias> t = {{"platform:i8042", "i8042"},
                                       {"pci:v00008086d0000[12]9*", "ich"},
                                       {"acpi*:PNP0303:*", "atkbd"}};
  CHECK(match_modalias(t, "platform:i8042") == std::vector<std::string>{"i8042"});
  CHECK(match_modalias(t, "platform:i8042x").empty());
  CHECK(match_modalias(t, "platform:i804").empty());
  CHECK(match_modalias(t, "pci:v00008086d00002922sv0") == std::vector<std::string>{"ich"});
  CHECK(match_modalias(t, "pci:v00008086d00003922sv0").empty());
  CHECK(match_modalias(t, "acpi:PNP0303:") == std::vector<std::string>{"atkbd"});
}

TEST_CASE("kernel uevents are parsed, libudev messages are not") {
  const char raw[] =
      "add@/devices/pci0000:00/0000:00:04.0/virtio1/block/vda\0ACTION=add\0"
      "DEVPATH=/devices/pci0000:00/0000:00:04.0/virtio1/block/vda\0SUBSYSTEM=block\0"
      "DEVNAME=vda\0DEVTYPE=disk\0SEQNUM=1234";
  std::string msg(raw, sizeof raw);  // the kernel's message ends with a NUL
  Uevent ev;
  REQUIRE(parse_uevent(msg, ev));
  CHECK(ev.action == "add");
  CHECK(ev.subsystem == "block");
  CHECK(ev.devname == "vda");
  CHECK(ev.modalias.empty());
  const char pci_raw[] =
      "add@/devices/pci0000:00/0000:00:05.0\0ACTION=add\0SUBSYSTEM=pci\0"
      "MODALIAS=pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00";
  std::string pci(pci_raw, sizeof pci_raw);
  REQUIRE(parse_uevent(pci, ev));
  CHECK(ev.modalias == "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00");
  const char udev_raw[] = "libudev\0\xfe\xed\xca\xfe";
  CHECK_FALSE(parse_uevent(std::string(udev_raw, sizeof udev_raw), ev));
  CHECK_FALSE(parse_uevent("", ev));
  CHECK_FALSE(parse_uevent("garbage without separator", ev));
}

TEST_CASE("the sysfs walk finds modalias files and does not follow symlinks") {
  char tmpl[] = "/tmp/zinitrd-sysfs-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string root = tmpl;
  REQUIRE(make_dirs(root + "/pci0000:00/0000:00:04.0/virtio1"));
  REQUIRE(write_file(root + "/pci0000:00/0000:00:04.0/modalias", "pci:v00001AF4d00001001sv1\n"));
  REQUIRE(write_file(root + "/pci0000:00/0000:00:04.0/virtio1/modalias",
                     "virtio:d00000002v00001AF4\n"));
  REQUIRE(symlink(root.c_str(), (root + "/pci0000:00/loop").c_str()) ==
          0);  // would recurse forever
  auto found = collect_modaliases(root);
  std::sort(found.begin(), found.end());
  CHECK(found ==
        std::vector<std::string>{"pci:v00001AF4d00001001sv1", "virtio:d00000002v00001AF4"});
  CHECK(collect_modaliases(root + "/nonexistent").empty());
  std::string cmd = "rm -rf '" + root + "'";
  CHECK(system(cmd.c_str()) == 0);
}

namespace {

int open_fds() {
  int n = 0;
  for (int fd = 0; fd < 4096; ++fd) n += ::fcntl(fd, F_GETFD) != -1;
  return n;
}

}  // namespace

TEST_CASE("the sysfs walk stops at its depth limit without leaking a descriptor") {
  char tmpl[] = "/tmp/zinitrd-sysfs-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string root = tmpl, dir = root;
  for (int i = 0; i < 50; ++i) dir += "/d";
  REQUIRE(make_dirs(dir));
  REQUIRE(write_file(root + "/d/modalias", "pci:shallow\n"));
  REQUIRE(write_file(dir + "/modalias", "pci:too-deep\n"));
  const int before = open_fds();
  auto found = collect_modaliases(root);
  CHECK(found == std::vector<std::string>{"pci:shallow"});
  CHECK(open_fds() == before);
  std::string cmd = "rm -rf '" + root + "'";
  CHECK(system(cmd.c_str()) == 0);
}
