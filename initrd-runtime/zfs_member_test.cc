// zfs_member_test.cc: label detection on files laid out as OpenZFS writes its vdev labels.
#include "zfs_member.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

using namespace zinitrd::rt;

namespace {

// The start of a label's packed nvlist: the XDR header, version 0, NV_UNIQUE_NAME, then pairs
// (name strings as XDR stores them: length, bytes, padding).
std::string nvlist_start(bool with_pool_guid) {
  std::string s("\x01\x01\x00\x00", 4);
  s += std::string("\x00\x00\x00\x00\x00\x00\x00\x01", 8);
  s += std::string("\x00\x00\x00\x07", 4) + "version" + std::string(1, '\0');
  if (with_pool_guid) s += std::string("\x00\x00\x00\x09", 4) + "pool_guid" + std::string(3, '\0');
  return s;
}

// The start of a hot spare's or cache device's label: its state and GUID, no pool_guid.
std::string aux_start() {
  std::string s = nvlist_start(false);
  s += std::string("\x00\x00\x00\x05", 4) + "state" + std::string(3, '\0');
  s += std::string("\x00\x00\x00\x04", 4) + "guid";
  return s;
}

std::string temp_dir() {
  char tmpl[] = "/tmp/zfs_member_test.XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}

void write_at(const std::string& path, uint64_t size, uint64_t off, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary | std::ios::trunc);
  REQUIRE(f.good());
  f.seekp(static_cast<std::streamoff>(size - 1));
  f.put('\0');
  f.seekp(static_cast<std::streamoff>(off));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("a pool member's label names a pool_guid in an XDR nvlist") {
  CHECK(is_zfs_member_label(nvlist_start(true)));
  CHECK_FALSE(is_zfs_member_label(nvlist_start(false)));  // a spare or cache device
  std::string native = nvlist_start(true);
  native[0] = 0;  // NV_ENCODE_NATIVE: not what a label holds
  CHECK_FALSE(is_zfs_member_label(native));
  CHECK_FALSE(is_zfs_member_label(""));
  CHECK_FALSE(is_zfs_member_label(std::string(4096, '\0')));
}

TEST_CASE("a hot spare's or cache device's label names its state and GUID but no pool") {
  CHECK(is_zfs_aux_label(aux_start()));
  CHECK_FALSE(is_zfs_member_label(aux_start()));
  CHECK_FALSE(is_zfs_aux_label(nvlist_start(true)));
  CHECK_FALSE(is_zfs_aux_label(nvlist_start(false)));  // no state, no GUID: not a label
  std::string native = aux_start();
  native[0] = 0;
  CHECK_FALSE(is_zfs_aux_label(native));
  CHECK_FALSE(is_zfs_aux_label(""));
}

TEST_CASE("labels are found in any of the four slots, members listed from sysfs") {
  const std::string dir = temp_dir();
  const uint64_t size = 8 << 20;
  REQUIRE(::mkdir((dir + "/sys").c_str(), 0755) == 0);
  REQUIRE(::mkdir((dir + "/dev").c_str(), 0755) == 0);
  auto device = [&](const std::string& name, uint64_t bytes, uint64_t label_at, bool member) {
    REQUIRE(::mkdir((dir + "/sys/" + name).c_str(), 0755) == 0);
    std::ofstream(dir + "/sys/" + name + "/size") << bytes / 512 << "\n";
    write_at(dir + "/dev/" + name, bytes, label_at + kLabelNvlistOffset, nvlist_start(member));
  };
  device("vda", size, 0, false);                                // a disk with a partition table
  device("vda1", size, 0, true);                                // label 0
  device("vdb", size, size - kVdevLabelSize, true);             // only label 3 survived
  device("vdc", size + 4096, size - 2 * kVdevLabelSize, true);  // label 2, unaligned size
  device("loop0", size, 0, true);                               // never read
  CHECK(has_zfs_label(dir + "/dev/vda1", size));
  CHECK_FALSE(has_zfs_label(dir + "/dev/vda", size));
  CHECK_FALSE(has_zfs_label(dir + "/dev/absent", size));
  auto found = zfs_member_devices(dir + "/sys", dir + "/dev");
  REQUIRE(found.size() == 3);
  CHECK(found[0].path == dir + "/dev/vda1");
  CHECK(found[1].path == dir + "/dev/vdb");
  CHECK(found[2].path == dir + "/dev/vdc");
  CHECK(found[2].size == size + 4096);
  CHECK(zfs_member_devices(dir + "/nothing", dir + "/dev").empty());
  std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE("a whole disk whose partition carries the label is not a second copy of the member") {
  // An MBR partition from 1 MiB to the disk's end: its labels 2 and 3 are the disk's too.
  const std::string dir = temp_dir();
  const uint64_t disk = 9 << 20, part = 8 << 20;
  for (const char* d : {"/sys", "/sys/vdd", "/sys/vdd/vdd1", "/sys/vde", "/sys/vde/vde1", "/dev"})
    REQUIRE(::mkdir((dir + d).c_str(), 0755) == 0);
  auto sizes = [&](const std::string& sysdir, uint64_t bytes) {
    std::ofstream(dir + "/sys/" + sysdir + "/size") << bytes / 512 << "\n";
  };
  sizes("vdd", disk);
  sizes("vdd/vdd1", part);
  std::ofstream(dir + "/sys/vdd/vdd1/partition") << "1\n";
  REQUIRE(::symlink("vdd/vdd1", (dir + "/sys/vdd1").c_str()) == 0);
  write_at(dir + "/dev/vdd", disk, disk - kVdevLabelSize + kLabelNvlistOffset, nvlist_start(true));
  write_at(dir + "/dev/vdd1", part, kLabelNvlistOffset, nvlist_start(true));
  // A whole-disk member (no label on its partition) and a cache device's partition stay.
  sizes("vde", disk);
  sizes("vde/vde1", part);
  std::ofstream(dir + "/sys/vde/vde1/partition") << "1\n";
  REQUIRE(::symlink("vde/vde1", (dir + "/sys/vde1").c_str()) == 0);
  write_at(dir + "/dev/vde", disk, kLabelNvlistOffset, nvlist_start(true));
  write_at(dir + "/dev/vde1", part, kVdevLabelSize + kLabelNvlistOffset, aux_start());

  auto members = zfs_member_devices(dir + "/sys", dir + "/dev");
  REQUIRE(members.size() == 2);
  CHECK(members[0].path == dir + "/dev/vdd1");
  CHECK(members[1].path == dir + "/dev/vde");
  auto aux = zfs_aux_devices(dir + "/sys", dir + "/dev");
  REQUIRE(aux.size() == 1);
  CHECK(aux[0].path == dir + "/dev/vde1");
  std::system(("rm -rf '" + dir + "'").c_str());
}
