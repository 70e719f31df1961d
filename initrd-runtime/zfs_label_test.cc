// zfs_label_test.cc: labels encoded as OpenZFS packs them (XDR nvlists), and when the boot may
// import straight from them.
#include "zfs_label.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace zinitrd::rt;

namespace {

// An XDR nvlist writer, as nvpair.c's nvs_xdr encodes: per pair the encoded size (embedded lists
// included), the decoded size, the name, the type, the element count, the value.
struct Nv {
  std::string body;  // the pairs
  static std::string u32(uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
  }
  static std::string str(const std::string& s) {
    return u32(static_cast<uint32_t>(s.size())) + s + std::string((4 - s.size() % 4) % 4, '\0');
  }
  void pair(const std::string& name, uint32_t type, uint32_t n, const std::string& value) {
    std::string p = str(name) + u32(type) + u32(n) + value;
    body += u32(static_cast<uint32_t>(p.size() + 8)) + u32(static_cast<uint32_t>(p.size() + 8)) + p;
  }
  Nv& num(const std::string& k, uint64_t v) {
    pair(k, 8, 1, u32(static_cast<uint32_t>(v >> 32)) + u32(static_cast<uint32_t>(v)));
    return *this;
  }
  Nv& text(const std::string& k, const std::string& v) {
    pair(k, 9, 1, str(v));
    return *this;
  }
  Nv& list(const std::string& k, const Nv& v) {
    pair(k, 19, 1, v.packed());
    return *this;
  }
  Nv& lists(const std::string& k, const std::vector<Nv>& v) {
    std::string all;
    for (const auto& x : v) all += x.packed();
    pair(k, 20, static_cast<uint32_t>(v.size()), all);
    return *this;
  }
  Nv& nums(const std::string& k, const std::vector<uint64_t>& v) {
    std::string all = u32(static_cast<uint32_t>(v.size()));  // xdr_array: the count first
    for (auto x : v) all += u32(static_cast<uint32_t>(x >> 32)) + u32(static_cast<uint32_t>(x));
    pair(k, 16, static_cast<uint32_t>(v.size()), all);
    return *this;
  }
  std::string packed() const { return u32(0) + u32(1) + body + u32(0) + u32(0); }
  std::string label() const { return std::string("\x01\x01\x00\x00", 4) + packed(); }
};

Nv disk(uint64_t guid, const std::string& path) {
  return Nv().text("type", "disk").num("id", 0).num("guid", guid).text("path", path);
}

// The label of leaf GUID in a mirror of LEAVES (top-level vdev TOP of CHILDREN).
std::string mirror_label(const std::string& pool, uint64_t pool_guid, uint64_t guid, uint64_t top,
                         std::vector<uint64_t> leaves, uint64_t state = 0,
                         uint64_t hostid = 0x0740'54a5, uint64_t children = 1) {
  std::vector<Nv> kids;
  for (auto g : leaves) kids.push_back(disk(g, "/dev/x"));
  Nv tree = Nv().text("type", "mirror").num("id", 0).num("guid", top).lists("children", kids);
  return Nv()
      .num("version", 5000)
      .text("name", pool)
      .num("state", state)
      .num("txg", 4)
      .num("pool_guid", pool_guid)
      .num("hostid", hostid)
      .text("hostname", "(none)")
      .num("top_guid", top)
      .num("guid", guid)
      .num("vdev_children", children)
      .list("vdev_tree", tree)
      .list("features_for_read", Nv())
      .label();
}

LabelledDevice dev(const std::string& path, const std::string& label) {
  auto l = parse_zfs_label(label);
  REQUIRE(l);
  return {path, *l};
}

constexpr uint32_t kOurs = 0x074054a5;

}  // namespace

TEST_CASE("a mirror member's label: pool, GUIDs, state, hostid and the leaves of its vdev") {
  auto l = parse_zfs_label(mirror_label("mpool", 13256196702963303495u, 11, 5, {11, 12}));
  REQUIRE(l);
  CHECK(l->name == "mpool");
  CHECK(l->pool_guid == 13256196702963303495u);
  CHECK(l->guid == 11);
  CHECK(l->top_guid == 5);
  CHECK(l->state == 0);
  CHECK(l->hostid == std::optional<uint64_t>(kOurs));
  CHECK(l->leaves == std::vector<uint64_t>{11, 12});
  // A single disk is its own top-level vdev and leaf.
  std::string single = Nv().text("name", "rpool")
                           .num("state", 1)
                           .num("txg", 8)
                           .num("pool_guid", 7)
                           .num("top_guid", 3)
                           .num("guid", 3)
                           .num("vdev_children", 1)
                           .list("vdev_tree", disk(3, "/dev/vda1"))
                           .label();
  auto s = parse_zfs_label(single);
  REQUIRE(s);
  CHECK(s->leaves == std::vector<uint64_t>{3});
  CHECK_FALSE(s->hostid);
}

TEST_CASE("labels that are cut short or lack what a member has do not parse") {
  std::string full = mirror_label("mpool", 9, 11, 5, {11, 12});
  for (size_t cut : {size_t{8}, size_t{40}, full.size() / 2, full.size() - 9})
    CHECK_FALSE(parse_zfs_label(full.substr(0, cut)));
  // A leaf GUID that its own tree does not hold is not a consistent label.
  CHECK_FALSE(parse_zfs_label(mirror_label("mpool", 9, 13, 5, {11, 12})));
  CHECK_FALSE(parse_zfs_label(Nv().text("name", "x").num("pool_guid", 1).label()));
}

TEST_CASE("import straight from the labels only when one complete pool of this system is there") {
  auto a = dev("/dev/vdc1", mirror_label("mpool", 9, 11, 5, {11, 12}));
  auto b = dev("/dev/sda1", mirror_label("mpool", 9, 12, 5, {11, 12}));
  auto other = dev("/dev/vdb1", mirror_label("tank", 8, 21, 6, {21}));
  auto plan = plan_direct_import({a, other, b}, "mpool", kOurs);
  REQUIRE(plan);
  CHECK(plan->name == "mpool");
  CHECK(plan->pool_guid == 9);
  CHECK(plan->devices == std::vector<std::string>{"/dev/vdc1", "/dev/sda1"});
  CHECK(plan_direct_import({a, b}, "9", kOurs));             // root=zfs:GUID
  CHECK_FALSE(plan_direct_import({a}, "mpool", kOurs));      // the 2nd member not there yet
  CHECK_FALSE(plan_direct_import({a, b}, "nopool", kOurs));  // not there at all
  CHECK_FALSE(plan_direct_import({a, a}, "mpool", kOurs));   // one disk seen twice
  CHECK_FALSE(plan_direct_import({a, b}, "mpool", 0xdead));  // active on another system
  auto twin = dev("/dev/vdd1", mirror_label("mpool", 99, 31, 7, {31}));
  CHECK_FALSE(plan_direct_import({a, b, twin}, "mpool", kOurs));  // namesakes
  // Exported: importable by any system without -f.
  auto ea = dev("/dev/vdc1", mirror_label("mpool", 9, 11, 5, {11, 12}, 1, 0xdead));
  auto eb = dev("/dev/sda1", mirror_label("mpool", 9, 12, 5, {11, 12}, 1, 0xdead));
  CHECK(plan_direct_import({ea, eb}, "mpool", kOurs));
  // Destroyed (2) is never imported this way.
  auto da = dev("/dev/vdc1", mirror_label("mpool", 9, 11, 5, {11, 12}, 2));
  CHECK_FALSE(plan_direct_import({da, b}, "mpool", kOurs));
  // Two top-level vdevs, one of them absent.
  auto s1 = dev("/dev/vda1", mirror_label("spool", 4, 41, 40, {41}, 0, kOurs, 2));
  auto s2 = dev("/dev/vdb1", mirror_label("spool", 4, 51, 50, {51}, 0, kOurs, 2));
  CHECK_FALSE(plan_direct_import({s1}, "spool", kOurs));
  CHECK(plan_direct_import({s1, s2}, "spool", kOurs));
}

TEST_CASE("a hot spare's and a cache device's label: their GUID and state, no pool") {
  auto spare = parse_aux_label(Nv().num("version", 5000).num("state", 3).num("guid", 41).label());
  REQUIRE(spare);
  CHECK(spare->guid == 41);
  CHECK(spare->state == kPoolStateSpare);
  auto cache = parse_aux_label(
      Nv().num("version", 5000).num("state", 4).num("guid", 42).num("ashift", 12).label());
  REQUIRE(cache);
  CHECK(cache->state == kPoolStateL2cache);
  // A member's label, a destroyed or active state, a missing GUID: not an aux label.
  CHECK_FALSE(parse_aux_label(mirror_label("mpool", 9, 11, 5, {11, 12})));
  CHECK_FALSE(parse_aux_label(Nv().num("version", 5000).num("state", 2).num("guid", 43).label()));
  CHECK_FALSE(parse_aux_label(Nv().num("version", 5000).num("state", 3).label()));
  CHECK_FALSE(parse_zfs_label(Nv().num("version", 5000).num("state", 3).num("guid", 41).label()));
}

namespace {

// The label of a single-disk top-level vdev GUID at place ID of tpool (CHILDREN top-level vdevs,
// HOLES removed), written in TXG.
std::string disk_label(uint64_t guid, uint64_t id, uint64_t children, uint64_t txg,
                       const std::vector<uint64_t>& holes) {
  Nv tree = Nv().text("type", "disk").num("id", id).num("guid", guid).text("path", "/dev/x");
  Nv c = Nv().num("version", 5000).text("name", "tpool").num("state", 0).num("txg", txg);
  c.num("pool_guid", 9).num("hostid", kOurs).num("top_guid", guid).num("guid", guid);
  if (!holes.empty()) c.nums("hole_array", holes);
  return c.num("vdev_children", children).list("vdev_tree", tree).label();
}

}  // namespace

TEST_CASE(
    "a removed top-level vdev leaves a hole, and the removed device's old label is no member") {
  // tpool had a log device at place 1, removed (a hole), then a disk added at place 2; the log
  // device still carries its label of then (two children, an older txg).
  auto a = dev("/dev/vda1", disk_label(21, 0, 3, 90, {1}));
  auto b = dev("/dev/vdb1", disk_label(23, 2, 3, 90, {1}));
  auto old_log = dev("/dev/vdc1", disk_label(22, 1, 2, 40, {}));
  REQUIRE(a.label.holes == std::vector<uint64_t>{1});
  CHECK(a.label.id == 0);
  CHECK(b.label.id == 2);
  CHECK(stale_label(old_log.label, a.label));
  // txg 0: a device being added, or removed from the pool, is no member's (libzutil).
  CHECK_FALSE(parse_zfs_label(disk_label(24, 3, 4, 0, {1})));
  CHECK_FALSE(stale_label(b.label, a.label));
  auto plan = plan_direct_import({a, old_log, b}, "tpool", kOurs);
  REQUIRE(plan);
  CHECK(plan->devices == std::vector<std::string>{"/dev/vda1", "/dev/vdb1"});
  // The disk at place 2 missing: not complete, whatever the hole.
  CHECK_FALSE(plan_direct_import({a, old_log}, "tpool", kOurs));
  // Place 1 missing without a hole recorded: a vdev is missing.
  auto c = dev("/dev/vda1", disk_label(21, 0, 3, 90, {}));
  auto d = dev("/dev/vdb1", disk_label(23, 2, 3, 90, {}));
  CHECK_FALSE(plan_direct_import({c, d}, "tpool", kOurs));
}

TEST_CASE("a label's own leaf path, in a mirror or a single disk") {
  Nv tree = Nv().text("type", "mirror")
                .num("id", 0)
                .num("guid", 5)
                .lists("children", {disk(11, "/dev/disk/by-id/ata-A-part1"),
                                    disk(12, "/dev/disk/by-id/ata-B-part1")});
  auto mirror = [&](uint64_t guid) {
    return Nv()
        .text("name", "mpool")
        .num("state", 0)
        .num("txg", 4)
        .num("pool_guid", 9)
        .num("top_guid", 5)
        .num("guid", guid)
        .num("vdev_children", 1)
        .list("vdev_tree", tree)
        .label();
  };
  auto b = parse_zfs_label(mirror(12));
  REQUIRE(b);
  CHECK(recorded_leaf_path(*b) == std::optional<std::string>("/dev/disk/by-id/ata-B-part1"));
  auto a = parse_zfs_label(mirror(11));
  REQUIRE(a);
  CHECK(recorded_leaf_path(*a) == std::optional<std::string>("/dev/disk/by-id/ata-A-part1"));
  auto d = parse_zfs_label(disk_label(21, 0, 1, 90, {}));
  REQUIRE(d);
  CHECK(recorded_leaf_path(*d) == std::optional<std::string>("/dev/x"));
}
