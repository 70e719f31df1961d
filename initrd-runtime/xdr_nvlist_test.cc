// xdr_nvlist_test.cc: XDR nvlists against OpenZFS's own libnvpair (the host's, which zfsutils
// brings): what it packs, zinitrd reads and writes back byte for byte; what zinitrd builds, it
// packs exactly as libnvpair does, decoded sizes included (the kernel's decoder checks them).
#include "xdr_nvlist.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "libnvpair_for_tests.h"

using namespace zinitrd::rt;

#ifdef ZINITRD_LIBNVPAIR
namespace {

// A vdev tree like a mirror's in a label, built by libnvpair.
nvlist* libnvpair_config(LibNvpair& n) {
  auto* disk_a = n.make();
  n.add_string(disk_a, "type", "disk");
  n.add_uint64(disk_a, "guid", 111);
  n.add_string(disk_a, "path", "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part1");
  auto* disk_b = n.make();
  n.add_string(disk_b, "type", "disk");
  n.add_uint64(disk_b, "guid", 222);
  n.add_string(disk_b, "path", "/dev/vdb1");
  nvlist* disks[] = {disk_a, disk_b};
  auto* mirror = n.make();
  n.add_string(mirror, "type", "mirror");
  n.add_uint64(mirror, "id", 0);
  n.add_nvlist_array(mirror, "children", disks, 2);
  auto* features = n.make();
  n.add_boolean(features, "com.delphix:hole_birth");
  auto* config = n.make();
  n.add_uint64(config, "version", 5000);
  n.add_string(config, "name", "rpool");
  uint64_t holes[] = {3, 4};
  n.add_uint64_array(config, "hole_array", holes, 2);
  n.add_nvlist(config, "vdev_tree", mirror);
  n.add_nvlist(config, "features_for_read", features);
  for (auto* l : {disk_a, disk_b, mirror, features}) n.free(l);
  return config;
}

// That config as libnvpair packs it (NV_ENCODE_XDR).
std::string libnvpair_packed() {
  auto& n = nv();
  auto* config = libnvpair_config(n);
  std::string packed = n.packed(config);
  n.free(config);
  return packed;
}

}  // namespace

TEST_CASE("xdr nvlist: what libnvpair packs reads back and packs byte for byte") {
  const std::string theirs = libnvpair_packed();
  auto parsed = parse_xdr_nvlist(theirs);
  REQUIRE(parsed);
  CHECK(parsed->number("version") == 5000u);
  CHECK(parsed->text("name") == "rpool");
  const NvList* tree = parsed->list("vdev_tree");
  REQUIRE(tree);
  REQUIRE(tree->lists("children"));
  CHECK(tree->lists("children")->at(1).text("path") == "/dev/vdb1");
  CHECK(pack_xdr_nvlist(*parsed) == theirs);
}

TEST_CASE("xdr nvlist: what zinitrd builds packs as libnvpair does, decoded sizes included") {
  const std::string theirs = libnvpair_packed();
  auto parsed = parse_xdr_nvlist(theirs);
  REQUIRE(parsed);
  // The same list made with the setters (the array and boolean copied: zinitrd never makes them).
  NvList a, b, mirror, ours;
  a.set_text("type", "disk");
  a.set_number("guid", 111);
  a.set_text("path", "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part1");
  b.set_text("type", "disk");
  b.set_number("guid", 222);
  b.set_text("path", "/dev/vdb1");
  mirror.set_text("type", "mirror");
  mirror.set_number("id", 0);
  mirror.set_lists("children", {a, b});
  ours.set_number("version", 5000);
  ours.set_text("name", "rpool");
  ours.pairs.push_back(*parsed->find("hole_array"));
  ours.set_list("vdev_tree", mirror);
  ours.pairs.push_back(*parsed->find("features_for_read"));
  CHECK(pack_xdr_nvlist(ours) == theirs);
}

TEST_CASE("xdr nvlist: a changed path and removed pairs unpack in libnvpair") {
  auto& n = nv();
  auto parsed = parse_xdr_nvlist(libnvpair_packed());
  REQUIRE(parsed);
  NvList tree = *parsed->list("vdev_tree");
  (*tree.lists("children"))[0].set_text("path", "/dev/sda1");
  (*tree.lists("children"))[0].erase("type");
  parsed->set_list("vdev_tree", tree);
  parsed->set_number("pool_guid", 0x1234'5678'9abc'def0);
  std::string packed = pack_xdr_nvlist(*parsed);
  nvlist* back = nullptr;
  REQUIRE(n.unpack(packed.data(), packed.size(), &back, 0) == 0);
  uint64_t guid = 0;
  CHECK(n.lookup_uint64(back, "pool_guid", &guid) == 0);
  CHECK(guid == 0x1234'5678'9abc'def0);
  n.free(back);
  auto again = parse_xdr_nvlist(packed);
  REQUIRE(again);
  CHECK(again->list("vdev_tree")->lists("children")->at(0).text("path") == "/dev/sda1");
  CHECK(!again->list("vdev_tree")->lists("children")->at(0).find("type"));
}

TEST_CASE("xdr nvlist: truncated, native-encoded and overlong input is refused, never over-read") {
  const std::string whole = libnvpair_packed();
  for (size_t cut = 0; cut < whole.size(); cut += 7)
    CHECK(!parse_xdr_nvlist(std::string_view(whole.data(), cut)));
  std::string native = whole;
  native[0] = 0;  // NV_ENCODE_NATIVE
  CHECK(!parse_xdr_nvlist(native));
  std::string bad = whole;
  bad[4 + 8] = 0x7f;  // the first pair's encoded size far past the end
  CHECK(!parse_xdr_nvlist(bad));
}

#else
TEST_CASE("xdr nvlist: checked against libnvpair") {
  FAIL(
      "libnvpair (zfsutils-linux) was not found when this was configured: zinitrd's XDR "
      "nvlists cannot be checked against OpenZFS's; install zfsutils-linux and reconfigure");
}
#endif
