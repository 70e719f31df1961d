// resume_test.cc: swap headers as mkswap and the kernel's hibernation write them, resume=
// forms, and finding the device among block devices (fixture sysfs and device files).
#include "resume.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using namespace zinitrd::rt;
namespace fs = std::filesystem;

namespace {

// A swap area's first page as mkswap writes it (UUID and label in the info part), with SIG in
// its last ten bytes ("SWAPSPACE2", or "S1SUSPEND" once the kernel hibernated to it).
std::string swap_page(const std::string& sig, const std::string& label = "zswap") {
  std::string page(4096, '\0');
  page[1024] = 1;  // version
  const unsigned char uuid[16] = {0x1b, 0x4e, 0x28, 0xba, 0x2f, 0xa1, 0x11, 0xd2,
                                  0x88, 0x3f, 0x00, 0x16, 0xd3, 0xcc, 0x42, 0x7e};
  for (int i = 0; i < 16; ++i) page[1036 + i] = static_cast<char>(uuid[i]);
  page.replace(1052, label.size(), label);
  page.replace(4086, sig.size(), sig);
  return page;
}

constexpr const char* kUuid = "1b4e28ba-2fa1-11d2-883f-0016d3cc427e";

// A whole disk vdb (254:16), or its partition vdb2 named "swap" in its GPT.
BlockDevice vdb() {
  BlockDevice b;
  b.name = "vdb";
  b.path = "/dev/vdb";
  b.devnum = "254:16";
  return b;
}
BlockDevice vdb2() {
  BlockDevice b = vdb();
  b.name = "vdb2";
  b.path = "/dev/vdb2";
  b.devnum = "254:18";
  b.partn = 2;
  b.partname = "swap";
  return b;
}

}  // namespace

TEST_CASE("swap header: a swap area, a hibernated one, and what is neither") {
  auto plain = parse_swap_header(swap_page("SWAPSPACE2"));
  REQUIRE(plain);
  CHECK_FALSE(plain->hibernated);
  CHECK(plain->uuid == kUuid);
  CHECK(plain->label == "zswap");
  auto hibernated = parse_swap_header(swap_page(std::string("S1SUSPEND\0", 10)));
  REQUIRE(hibernated);
  CHECK(hibernated->hibernated);
  CHECK(hibernated->uuid == kUuid);  // the kernel keeps the info part: still found by UUID
  CHECK(parse_swap_header(swap_page(std::string("ULSUSPEND\0", 10)))->hibernated);
  // An ext4 or ZFS partition, a short read, a signature with trailing garbage: no swap area.
  CHECK_FALSE(parse_swap_header(std::string(4096, '\0')));
  CHECK_FALSE(parse_swap_header(swap_page("SWAPSPACE2").substr(0, 2048)));
  CHECK_FALSE(parse_swap_header(swap_page("S1SUSPENDX")));
  // No label, no UUID (mkswap without libuuid): both empty, never matched.
  std::string bare = swap_page("SWAPSPACE2", "");
  bare.replace(1036, 16, std::string(16, '\0'));
  auto h = parse_swap_header(bare);
  REQUIRE(h);
  CHECK(h->uuid.empty());
  CHECK(h->label.empty());
  CHECK_FALSE(resume_device_matches(parse_resume_device("LABEL="), vdb(), "", *h));
}

TEST_CASE("resume=: the forms the kernel and initramfs-tools take") {
  using K = ResumeDevice::Kind;
  CHECK(parse_resume_device("").kind == K::kNone);
  CHECK(parse_resume_device("none").kind == K::kNone);
  auto u = parse_resume_device("UUID=1B4E28BA-2FA1-11D2-883F-0016D3CC427E");
  CHECK((u.kind == K::kUuid && u.value == kUuid));
  auto bu = parse_resume_device("/dev/disk/by-uuid/" + std::string(kUuid));
  CHECK((bu.kind == K::kUuid && bu.value == kUuid));
  auto l = parse_resume_device("LABEL=zswap");
  CHECK((l.kind == K::kLabel && l.value == "zswap"));
  CHECK(parse_resume_device("/dev/disk/by-label/zswap").value == "zswap");
  auto n = parse_resume_device("/dev/nvme0n1p3");
  CHECK((n.kind == K::kName && n.value == "nvme0n1p3"));
  auto num = parse_resume_device("254:16");
  CHECK((num.kind == K::kNumber && num.value == "254:16"));
  auto pu = parse_resume_device("PARTUUID=0E1F0A2B-02");
  CHECK((pu.kind == K::kPartUuid && pu.value == "0e1f0a2b-02"));
  CHECK(parse_resume_device("/dev/disk/by-partuuid/0e1f0a2b-02").value == "0e1f0a2b-02");
  auto pl = parse_resume_device("PARTLABEL=swap");
  CHECK((pl.kind == K::kPartLabel && pl.value == "swap"));
  CHECK(parse_resume_device("/dev/disk/by-partlabel/swap").kind == K::kPartLabel);
  CHECK(parse_resume_device("PARTUUID=0e1f0a2b-02/PARTNROFF=1").kind == K::kUnsupported);
  CHECK(parse_resume_device("PARTUUID=").kind == K::kUnsupported);
  CHECK(parse_resume_device("/dev/disk/by-id/ata-X-part2").kind == K::kUnsupported);
  CHECK(parse_resume_device("/dev/mapper/swap").kind == K::kUnsupported);
  CHECK(parse_resume_device("254:16x").kind == K::kUnsupported);

  SwapHeader h{kUuid, "zswap", true};
  CHECK(resume_device_matches(u, vdb(), "", h));
  CHECK(resume_device_matches(l, vdb(), "", h));
  CHECK(resume_device_matches(parse_resume_device("/dev/vdb"), vdb(), "", h));
  CHECK(resume_device_matches(num, vdb(), "", h));
  CHECK_FALSE(resume_device_matches(parse_resume_device("LABEL=other"), vdb(), "", h));
  CHECK_FALSE(resume_device_matches(parse_resume_device("/dev/vdc"), vdb(), "", h));
  // PARTUUID= and PARTLABEL= name partitions only, by their table.
  CHECK(resume_device_matches(pu, vdb2(), "0e1f0a2b-02", h));
  CHECK_FALSE(resume_device_matches(pu, vdb2(), "0e1f0a2b-01", h));
  CHECK_FALSE(resume_device_matches(pu, vdb2(), "", h));
  CHECK_FALSE(resume_device_matches(pu, vdb(), "0e1f0a2b-02", h));
  CHECK(resume_device_matches(pl, vdb2(), "", h));
  CHECK_FALSE(resume_device_matches(pl, vdb(), "", h));
  CHECK_FALSE(resume_device_matches(parse_resume_device("PARTLABEL=other"), vdb2(), "", h));
}

TEST_CASE("resume device: found by its swap header among the block devices") {
  char tmpl[] = "/tmp/resume_test.XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  fs::path root(tmpl);
  auto device = [&](const std::string& name, const std::string& devnum, const std::string& page) {
    fs::create_directories(root / "sys/class/block" / name);
    const auto colon = devnum.find(':');
    std::ofstream(root / "sys/class/block" / name / "uevent")
        << "MAJOR=" << devnum.substr(0, colon) << "\nMINOR=" << devnum.substr(colon + 1)
        << "\nDEVNAME=" << name << "\nDEVTYPE=disk\n";
    std::ofstream(root / "sys/class/block" / name / "size") << 24 << "\n";  // 512-byte sectors
    fs::create_directories(root / "dev");
    std::ofstream(root / "dev" / name, std::ios::binary) << page << std::string(8192, '\0');
  };
  device("vda1", "254:1", std::string(4096, 'z'));  // the pool's partition: no swap area
  device("vdb", "254:16", swap_page(std::string("S1SUSPEND\0", 10)));
  device("vdc", "254:32", swap_page("SWAPSPACE2", "other"));
  const std::string sys = (root / "sys/class/block").string(), dev = (root / "dev").string();
  auto f = find_resume_device(parse_resume_device("UUID=" + std::string(kUuid)), sys, dev);
  REQUIRE(f);
  CHECK(f->name == "vdb");
  CHECK(f->devnum == "254:16");
  CHECK(f->header.hibernated);
  auto other = find_resume_device(parse_resume_device("LABEL=other"), sys, dev);
  REQUIRE(other);
  CHECK(other->name == "vdc");
  CHECK_FALSE(other->header.hibernated);
  CHECK_FALSE(find_resume_device(parse_resume_device("LABEL=absent"), sys, dev));

  // A partition: sysfs links it below its disk (vdd, an MBR disk of signature 0e1f0a2b), whose
  // uevent names its node; PARTN and PARTNAME are the partition's own uevent's.
  fs::create_directories(root / "sys/devices/vdd/vdd2");
  fs::create_directories(root / "sys/devices/vdd/queue");
  std::ofstream(root / "sys/devices/vdd/uevent") << "MAJOR=254\nMINOR=48\nDEVNAME=vdd\n";
  std::ofstream(root / "sys/devices/vdd/queue/logical_block_size") << "512\n";
  std::ofstream(root / "sys/devices/vdd/vdd2/uevent")
      << "MAJOR=254\nMINOR=50\nDEVNAME=vdd2\nDEVTYPE=partition\nPARTN=2\nPARTNAME=hibernate\n";
  std::ofstream(root / "sys/devices/vdd/vdd2/size") << 24 << "\n";
  fs::create_symlink("../../devices/vdd/vdd2", root / "sys/class/block/vdd2");
  std::string mbr(512, '\0');
  mbr[440] = 0x2b, mbr[441] = 0x0a, mbr[442] = 0x1f, mbr[443] = 0x0e;
  mbr[510] = '\x55', mbr[511] = '\xaa';
  std::ofstream(root / "dev/vdd", std::ios::binary) << mbr << std::string(8192, '\0');
  std::ofstream(root / "dev/vdd2", std::ios::binary)
      << swap_page(std::string("S1SUSPEND\0", 10), "") << std::string(8192, '\0');
  for (const char* spec : {"PARTUUID=0e1f0a2b-02", "PARTLABEL=hibernate"}) {
    CAPTURE(spec);
    auto p = find_resume_device(parse_resume_device(spec), sys, dev);
    REQUIRE(p);
    CHECK(p->name == "vdd2");
    CHECK(p->devnum == "254:50");
  }
  CHECK_FALSE(find_resume_device(parse_resume_device("PARTUUID=0e1f0a2b-01"), sys, dev));
  CHECK_FALSE(find_resume_device(parse_resume_device("/dev/vda1"), sys, dev));  // not swap
  fs::remove_all(root);
}
