// pool_devices_test.cc: `zpool status -P` output captured from ZFS 2.1.11 (testdata/zpool-status).
#include "pool_devices.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace zinitrd;
using namespace zinitrd::gen;

namespace {

std::string captured(const std::string& name) {
  std::ifstream in(ZINITRD_SOURCE_DIR "/generator/testdata/zpool-status/" + name + ".txt");
  REQUIRE(in);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<std::string> as_is(const std::string& path) { return path; }

}  // namespace

TEST_CASE("zpool status -P: a pool on one partition") {
  auto pools = parse_zpool_status(captured("single-disk"));
  REQUIRE(pools.size() == 1);
  CHECK(pools[0].name == "rpool");
  CHECK(pools[0].state == "ONLINE");
  REQUIRE(pools[0].devices.size() == 1);
  CHECK(pools[0].devices[0] == PoolDevice{"/dev/vda1", "", "", "ONLINE", ""});
  auto disks = pool_disks(captured("single-disk"), "rpool", as_is);
  REQUIRE(disks);
  CHECK(disks->paths == std::vector<std::string>{"/dev/vda1"});
  CHECK(disks->notes.empty());
}

TEST_CASE("zpool status -P: a missing mirror half is a GUID, its old path is never attached") {
  auto pools = parse_zpool_status(captured("degraded-mirror-missing-member"));
  REQUIRE(pools.size() == 1);
  CHECK(pools[0].state == "DEGRADED");
  REQUIRE(pools[0].devices.size() == 2);
  CHECK(pools[0].devices[0].path == "/dev/vdb1");
  CHECK(pools[0].devices[1] ==
        PoolDevice{"", "5290482211074587669", "was /dev/vdd1", "UNAVAIL", ""});
  auto disks = pool_disks(captured("degraded-mirror-missing-member"), "mpool", as_is);
  REQUIRE(disks);
  CHECK(disks->paths == std::vector<std::string>{"/dev/vdb1"});
  REQUIRE(disks->notes.size() == 1);
  CHECK(disks->notes[0].find("missing on this host (GUID 5290482211074587669, was /dev/vdd1)") !=
        std::string::npos);
}

TEST_CASE("zpool status -P: every vdev class, an OFFLINE member, a spare") {
  auto pools = parse_zpool_status(captured("mirror-offline-special-log-cache-spare"));
  REQUIRE(pools.size() == 1);
  std::vector<PoolDevice> want = {
      {"/dev/vdc1", "", "", "ONLINE", ""},        {"/dev/vdd1", "", "", "OFFLINE", ""},
      {"/dev/vdh1", "", "", "ONLINE", "special"}, {"/dev/vde1", "", "", "ONLINE", "logs"},
      {"/dev/vdf1", "", "", "ONLINE", "cache"},   {"/dev/vdg1", "", "", "AVAIL", "spares"},
  };
  CHECK(pools[0].devices == want);
  auto disks = pool_disks(captured("mirror-offline-special-log-cache-spare"), "tpool", as_is);
  REQUIRE(disks);
  CHECK(disks->paths.size() == 6);
}

TEST_CASE("zpool status -P of all pools: the root pool's devices only") {
  std::string all = captured("three-pools");
  auto pools = parse_zpool_status(all);
  REQUIRE(pools.size() == 3);
  CHECK(pools[0].name == "mpool");
  CHECK(pools[1].name == "rpool");
  CHECK(pools[2].name == "tpool");
  CHECK(pools[2].devices.size() == 6);
  auto disks = pool_disks(all, "rpool", as_is);
  REQUIRE(disks);
  CHECK(disks->paths == std::vector<std::string>{"/dev/vda1"});
  auto none = pool_disks(all, "nopool", as_is);
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("--disk") != std::string::npos);
  CHECK(parse_zpool_status("").empty());
}

TEST_CASE("pool disks: unresolvable members are noted, none left is an error, duplicates once") {
  auto fail = [](const std::string& p) -> Result<std::string> {
    return Error::msg("resolve '" + p + "': No such file or directory");
  };
  auto r = pool_disks(captured("single-disk"), "rpool", fail);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("no device of pool 'rpool'") != std::string::npos);
  auto same = [](const std::string&) -> Result<std::string> { return std::string("/dev/sda"); };
  auto d = pool_disks(captured("mirror-offline-special-log-cache-spare"), "tpool", same);
  REQUIRE(d);
  CHECK(d->paths == std::vector<std::string>{"/dev/sda"});
}
