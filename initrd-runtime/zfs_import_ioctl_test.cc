// zfs_import_ioctl_test.cc: the config /init hands ZFS_IOC_POOL_IMPORT, assembled from labels as
// libzutil's get_configs() does.
#include "zfs_import_ioctl.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace zinitrd::rt;

namespace {

NvList leaf(uint64_t guid, const std::string& path) {
  NvList l;
  l.set_text("type", "disk");
  l.set_number("id", 0);
  l.set_number("guid", guid);
  l.set_text("path", path);
  l.set_text("devid", "ata-QEMU_HARDDISK_QM0000" + std::to_string(guid) + "-part1");
  l.set_text("phys_path", "pci-0000:00:1f.2-ata-1.0");
  l.set_number("whole_disk", 1);
  return l;
}

// The label of leaf GUID, in top-level vdev ID (GUID TOP) of a pool with CHILDREN top-level
// vdevs; a mirror when the vdev has several LEAVES.
LabelledDevice labelled(const std::string& dev, uint64_t guid, uint64_t id, uint64_t top,
                        std::vector<uint64_t> leaves, uint64_t children, uint64_t txg) {
  NvList tree;
  if (leaves.size() == 1) {
    tree = leaf(guid, "/dev/disk/by-id/ata-" + std::to_string(guid) + "-part1");
  } else {
    std::vector<NvList> kids;
    for (auto g : leaves)
      kids.push_back(leaf(g, "/dev/disk/by-id/ata-" + std::to_string(g) + "-part1"));
    tree.set_text("type", "mirror");
    tree.set_lists("children", kids);
  }
  tree.set_number("id", id);
  tree.set_number("guid", top);
  NvList c;
  c.set_number("version", 5000);
  c.set_text("name", "rpool");
  c.set_number("state", 0);
  c.set_number("txg", txg);
  c.set_number("pool_guid", 77);
  c.set_number("errata", 0);
  c.set_number("hostid", 0x74054a5);
  c.set_text("hostname", "debian");
  c.set_number("top_guid", top);
  c.set_number("guid", guid);
  c.set_number("vdev_children", children);
  c.set_list("vdev_tree", tree);
  c.set_list("features_for_read", NvList());
  auto l = parse_zfs_label(pack_xdr_nvlist(c));
  REQUIRE(l);
  return {dev, *l};
}

std::vector<std::string> paths(const NvList& tree) {
  std::vector<std::string> out;
  if (const auto* kids = tree.lists("children")) {
    for (const auto& k : *kids)
      for (auto& p : paths(k)) out.push_back(p);
  } else if (auto p = tree.text("path")) {
    out.push_back(*p);
  }
  return out;
}

}  // namespace

TEST_CASE("import config: the pool's fields and a root vdev over each top-level vdev") {
  // Two top-level vdevs: a mirror (id 0) and a single disk (id 1); the mirror's second member has
  // the newer label.
  auto a = labelled("/dev/sda1", 11, 0, 5, {11, 12}, 2, 40);
  auto b = labelled("/dev/nvme0n1p1", 12, 0, 5, {11, 12}, 2, 41);
  auto c = labelled("/dev/vdb1", 13, 1, 13, {13}, 2, 41);
  auto config = import_config({a, b, c}, 77);
  REQUIRE(config);
  CHECK(config->text("name") == "rpool");
  CHECK(config->number("pool_guid") == 77u);
  CHECK(config->number("version") == 5000u);
  CHECK(config->number("hostid") == 0x74054a5u);
  CHECK(config->text("hostname") == "debian");
  CHECK(config->number("vdev_children") == 2u);
  // What a label says of its own device is not the pool's.
  CHECK(!config->find("guid"));
  CHECK(!config->find("top_guid"));
  CHECK(!config->find("txg"));
  const NvList* root = config->list("vdev_tree");
  REQUIRE(root);
  CHECK(root->text("type") == "root");
  CHECK(root->number("guid") == 77u);
  REQUIRE(root->lists("children"));
  REQUIRE(root->lists("children")->size() == 2);
  CHECK(root->lists("children")->at(0).text("type") == "mirror");
  CHECK(root->lists("children")->at(1).number("id") == 1u);
  // Each leaf points at the device its label was read from; udev's strings are gone with it.
  CHECK(paths(*root) == std::vector<std::string>{"/dev/sda1", "/dev/nvme0n1p1", "/dev/vdb1"});
  const NvList& first = root->lists("children")->at(0).lists("children")->at(0);
  CHECK(!first.find("devid"));
  CHECK(!first.find("phys_path"));
  CHECK(first.number("whole_disk") == 1u);
  // It packs into what the kernel unpacks, and reads back the same.
  auto back = parse_xdr_nvlist(pack_xdr_nvlist(*config));
  REQUIRE(back);
  CHECK(pack_xdr_nvlist(*back) == pack_xdr_nvlist(*config));
}

TEST_CASE("import config: none when a top-level vdev is missing or the pool is another") {
  auto a = labelled("/dev/sda1", 11, 0, 5, {11, 12}, 2, 40);
  auto c = labelled("/dev/vdb1", 13, 1, 13, {13}, 2, 41);
  CHECK_FALSE(import_config({a}, 77));     // vdev 1 absent: zpool explains
  CHECK_FALSE(import_config({c}, 77));     // vdev 0 absent
  CHECK_FALSE(import_config({a, c}, 78));  // no label of that pool
  CHECK(import_config({a, c}, 77));
  // A member not present keeps the path its label records (the kernel reports it missing).
  auto config = import_config({a, c}, 77);
  CHECK(paths(*config->list("vdev_tree")) ==
        std::vector<std::string>{"/dev/sda1", "/dev/disk/by-id/ata-12-part1", "/dev/vdb1"});
}

TEST_CASE("import config: from the label of a real pool (the suite's rpool, made by zpool 2.1)") {
  // The config nvlist of that pool's first label: fuzz/corpus/fuzz_zfs_label/rpool-label.
  std::ifstream in(ZINITRD_SOURCE_DIR "/fuzz/corpus/fuzz_zfs_label/rpool-label", std::ios::binary);
  REQUIRE(in);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto label = parse_zfs_label(bytes);
  REQUIRE(label);
  CHECK(label->name == "rpool");
  CHECK(label->vdev_children == 1u);
  CHECK(label->txg > 0u);
  // A real label round-trips byte for byte through the reader and writer.
  CHECK(pack_xdr_nvlist(label->config) == bytes);
  const uint64_t pool = label->pool_guid;
  auto config = import_config({{"/dev/sdb1", *label}}, pool);
  REQUIRE(config);
  CHECK(config->number("pool_guid") == pool);
  CHECK(config->text("name") == "rpool");
  const NvList* root = config->list("vdev_tree");
  REQUIRE(root);
  CHECK(paths(*root) == std::vector<std::string>{"/dev/sdb1"});
  CHECK(root->lists("children")->at(0).number("ashift"));
  CHECK(root->lists("children")->at(0).number("metaslab_array"));
}

TEST_CASE("import config: a leaf keeps the path its label records when it leads to the device") {
  auto a = labelled("/dev/sda1", 11, 0, 5, {11, 12}, 1, 40);
  auto b = labelled("/dev/sdb1", 12, 0, 5, {11, 12}, 1, 40);
  // As /init's dev_links would say: the by-id link of disk 11 was made, disk 12's could not be.
  auto config = import_config({a, b}, 77, [](const std::string& recorded, const std::string& dev) {
    return dev == "/dev/sda1" ? recorded : dev;
  });
  REQUIRE(config);
  const NvList& mirror = config->list("vdev_tree")->lists("children")->at(0);
  CHECK(paths(mirror) == std::vector<std::string>{"/dev/disk/by-id/ata-11-part1", "/dev/sdb1"});
  // The kept one keeps what udev said of it; the re-pointed one loses it, as libzutil does.
  CHECK(mirror.lists("children")->at(0).text("devid"));
  CHECK(mirror.lists("children")->at(0).text("phys_path"));
  CHECK_FALSE(mirror.lists("children")->at(1).find("devid"));
}

namespace {

// What ZFS_IOC_POOL_TRYIMPORT lists of the pool's hot spares and cache devices (from its MOS).
NvList aux_entry(uint64_t guid, const std::string& path) {
  NvList d;
  d.set_text("type", "disk");
  d.set_number("guid", guid);
  d.set_text("path", path);
  d.set_text("devid", "nvme-Samsung_" + std::to_string(guid) + "-part1");
  d.set_number("whole_disk", 0);
  return d;
}

NvList tried_with(std::vector<NvList> spares, std::vector<NvList> cache) {
  NvList tree;
  tree.set_text("type", "root");
  tree.set_lists("children", {});
  if (!spares.empty()) tree.set_lists("spares", std::move(spares));
  if (!cache.empty()) tree.set_lists("l2cache", std::move(cache));
  NvList tried;
  tried.set_text("name", "rpool");
  tried.set_list("vdev_tree", tree);
  return tried;
}

}  // namespace

TEST_CASE("import config: the pool's spares and cache devices found here, at their links") {
  auto a = labelled("/dev/sda1", 11, 0, 11, {11}, 1, 40);
  auto config = import_config({a}, 77);
  REQUIRE(config);
  const NvList before = *config;
  auto tried =
      tried_with({aux_entry(21, "/dev/disk/by-id/ata-spare-part1")},
                 {aux_entry(31, "/dev/disk/by-id/nvme-cache-part1"), aux_entry(32, "/dev/sdq1")});
  std::vector<std::pair<std::string, std::string>> asked;
  auto leaf_path = [&](const std::string& recorded, const std::string& dev) {
    asked.emplace_back(recorded, dev);
    return recorded.rfind("/dev/disk/", 0) == 0 ? recorded : dev;  // a link is made; sdq1 moved
  };
  // Device 99 carries an aux label of another pool: never named in this pool's lists.
  AuxDevices aux{{21, "/dev/sdc1"}, {32, "/dev/nvme0n1p2"}, {99, "/dev/sdd1"}};
  CHECK(add_aux_devices(*config, tried, aux, leaf_path) == 2);
  const NvList* tree = config->list("vdev_tree");
  REQUIRE(tree->lists("spares"));
  REQUIRE(tree->lists("l2cache"));
  CHECK(tree->lists("spares")->at(0).text("path") == "/dev/disk/by-id/ata-spare-part1");
  CHECK(tree->lists("l2cache")->at(0).text("path") == "/dev/disk/by-id/nvme-cache-part1");
  CHECK(tree->lists("l2cache")->at(1).text("path") == "/dev/nvme0n1p2");
  CHECK(tree->lists("l2cache")->at(1).number("guid") == 32);
  CHECK_FALSE(tree->lists("l2cache")->at(1).find("devid"));  // udev's strings go with the path
  CHECK(asked ==
        std::vector<std::pair<std::string, std::string>>{
            {"/dev/disk/by-id/ata-spare-part1", "/dev/sdc1"}, {"/dev/sdq1", "/dev/nvme0n1p2"}});
  // The config still packs and parses back with the lists.
  auto again = parse_xdr_nvlist(pack_xdr_nvlist(*config));
  REQUIRE(again);
  CHECK(again->list("vdev_tree")->lists("spares")->size() == 1);

  // None of the pool's own found here (only another pool's): the config is left as it was.
  NvList untouched = before;
  CHECK(add_aux_devices(untouched, tried, {{99, "/dev/sdd1"}}, leaf_path) == 0);
  CHECK(pack_xdr_nvlist(untouched) == pack_xdr_nvlist(before));
  // A pool without spares or cache devices: nothing to add.
  CHECK(add_aux_devices(untouched, tried_with({}, {}), aux, leaf_path) == 0);
  CHECK_FALSE(untouched.list("vdev_tree")->lists("spares"));
}

TEST_CASE("import config: dRAID's distributed spares, which no device carries, are kept") {
  auto config_with = [](const std::string& type, uint64_t nspares) {
    NvList top;
    top.set_text("type", type);
    top.set_number("draid_nspares", nspares);
    NvList tree;
    tree.set_text("type", "root");
    tree.set_lists("children", {top});
    NvList config;
    config.set_text("name", "drpool");
    config.set_list("vdev_tree", tree);
    return config;
  };
  CHECK(has_distributed_spares(config_with("draid", 1)));
  CHECK_FALSE(has_distributed_spares(config_with("draid", 0)));
  CHECK_FALSE(has_distributed_spares(config_with("raidz", 1)));
  CHECK_FALSE(has_distributed_spares(NvList{}));

  NvList config = config_with("draid", 1);
  NvList dspare;
  dspare.set_text("type", "dspare");
  dspare.set_number("guid", 41);
  dspare.set_text("path", "draid1-0-0");
  dspare.set_number("top_guid", 40);
  dspare.set_number("spareid", 0);
  dspare.set_number("is_spare", 1);
  // A pair of the reply's that is no config's (the trial's stats): left out.
  dspare.set_list("vdev_stats_ex", NvList{});
  // Nothing labelled here: the distributed spare is placed all the same, its name kept.
  CHECK(add_aux_devices(config, tried_with({dspare, aux_entry(42, "/dev/sdx1")}, {}), {}, {}) == 1);
  const auto* spares = config.list("vdev_tree")->lists("spares");
  REQUIRE(spares);
  REQUIRE(spares->size() == 2);
  CHECK(spares->at(0).text("type") == "dspare");
  CHECK(spares->at(0).text("path") == "draid1-0-0");
  CHECK(spares->at(0).number("top_guid") == 40);  // what the kernel needs to place it
  CHECK(spares->at(0).number("spareid") == 0);
  CHECK_FALSE(spares->at(0).find("vdev_stats_ex"));

  // A distributed spare the kernel could not place (no spareid): no list at all rather than one
  // that fails the kernel's VERIFY.
  NvList bare = config_with("draid", 1);
  dspare.erase("spareid");
  CHECK(add_aux_devices(bare, tried_with({dspare}, {}), {}, {}) == 0);
  CHECK_FALSE(bare.list("vdev_tree")->lists("spares"));
  CHECK(spares->at(1).text("path") == "/dev/sdx1");  // a real spare not found: its recorded path
}

TEST_CASE("import config: a removed top-level vdev's place is a hole, its old label ignored") {
  auto a = labelled("/dev/sda1", 11, 0, 11, {11}, 3, 90);
  auto b = labelled("/dev/sdb1", 13, 2, 13, {13}, 3, 90);
  auto old_log = labelled("/dev/sdc1", 12, 1, 12, {12}, 2, 40);
  for (auto* l : {&a.label, &b.label}) l->holes = {1};
  auto config = import_config({a, old_log, b}, 77);
  REQUIRE(config);
  const auto* kids = config->list("vdev_tree")->lists("children");
  REQUIRE(kids->size() == 3);
  CHECK(kids->at(0).number("guid") == 11);
  CHECK(kids->at(1).text("type") == "hole");
  CHECK(kids->at(1).number("id") == 1);
  CHECK(kids->at(1).number("guid") == 0);
  CHECK(kids->at(2).number("guid") == 13);
  // Without the hole recorded, place 1 is a missing vdev.
  for (auto* l : {&a.label, &b.label}) l->holes.clear();
  CHECK_FALSE(import_config({a, b}, 77));
}
