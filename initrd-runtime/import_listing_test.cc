// import_listing_test.cc: `zpool import` listings captured from OpenZFS 2.1.11 and 2.3.9 in a VM
// (a mirror with a member missing, namesakes under two hostids), and the choice of the root pool.
#include "import_listing.h"

#include <doctest/doctest.h>

using namespace zinitrd::rt;

namespace {

// Captured: fpool (hostid 0xdeadbeef), mpool with its second member absent, and two pools called
// rpool: this system's and one made under another hostid, the foreign one first on the bus.
const char* kListing21 =
    "   pool: fpool\n"
    "     id: 10461745890047082281\n"
    "  state: ONLINE\n"
    "status: The pool was last accessed by another system.\n"
    " action: The pool can be imported using its name or numeric identifier and\n"
    "\tthe '-f' flag.\n"
    "   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-EY\n"
    " config:\n"
    "\n"
    "\tfpool       ONLINE\n"
    "\t  vdd1      ONLINE\n"
    "\n"
    "   pool: mirr\n"
    "     id: 16633511654565832325\n"
    "  state: DEGRADED\n"
    "status: One or more devices contains corrupted data.\n"
    " action: The pool can be imported despite missing or damaged devices.  The\n"
    "\tfault tolerance of the pool may be compromised if imported.\n"
    "   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-4J\n"
    " config:\n"
    "\n"
    "\tmirr        DEGRADED\n"
    "\t  mirror-0  DEGRADED\n"
    "\t    vdc1    ONLINE\n"
    "\t    vdd1    UNAVAIL\n"
    "\n"
    "   pool: rpool\n"
    "     id: 6076189613137622942\n"
    "  state: ONLINE\n"
    "status: The pool was last accessed by another system.\n"
    " action: The pool can be imported using its name or numeric identifier and\n"
    "\tthe '-f' flag.\n"
    "   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-EY\n"
    " config:\n"
    "\n"
    "\trpool       ONLINE\n"
    "\t  vda1      ONLINE\n"
    "\n"
    "   pool: rpool\n"
    "     id: 7298839655711444730\n"
    "  state: ONLINE\n"
    " action: The pool can be imported using its name or numeric identifier.\n"
    " config:\n"
    "\n"
    "\trpool       ONLINE\n"
    "\t  vdb1      ONLINE\n";

// Captured from OpenZFS 2.3.9 (Debian 13, tests/vm/capture_import.py --platform trixie): the
// field names are indented differently from 2.1 ("  pool:", " state:", "action:", "config:").
// rpool under another hostid first on the bus, fpool (hostid 0xdeadbeef), mpool with its second
// member's old path now another pool's disk, and this system's rpool.
const char* kListing23 =
    "  pool: rpool\n"
    "    id: 7816133915963576945\n"
    " state: ONLINE\n"
    "status: The pool was last accessed by another system.\n"
    "action: The pool can be imported using its name or numeric identifier and\n"
    "\tthe '-f' flag.\n"
    "   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-EY\n"
    "config:\n"
    "\n"
    "\trpool       ONLINE\n"
    "\t  vdd1      ONLINE\n"
    "\n"
    "  pool: fpool\n"
    "    id: 8092161245297269465\n"
    " state: ONLINE\n"
    "status: The pool was last accessed by another system.\n"
    "action: The pool can be imported using its name or numeric identifier and\n"
    "\tthe '-f' flag.\n"
    "   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-EY\n"
    "config:\n"
    "\n"
    "\tfpool       ONLINE\n"
    "\t  vdc1      ONLINE\n"
    "\n"
    "  pool: mpool\n"
    "    id: 1297078445087425909\n"
    " state: DEGRADED\n"
    "status: One or more devices contains corrupted data.\n"
    "action: The pool can be imported despite missing or damaged devices.  The\n"
    "\tfault tolerance of the pool may be compromised if imported.\n"
    "   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-4J\n"
    "config:\n"
    "\n"
    "\tmpool       DEGRADED\n"
    "\t  mirror-0  DEGRADED\n"
    "\t    vdb1    ONLINE\n"
    "\t    vdd1    FAULTED  corrupted data\n"
    "\n"
    "  pool: rpool\n"
    "    id: 18186590396519858129\n"
    " state: ONLINE\n"
    "action: The pool can be imported using its name or numeric identifier.\n"
    "config:\n"
    "\n"
    "\trpool       ONLINE\n"
    "\t  vda1      ONLINE\n";

// A raidz with a log, a cache and a spare: only leaves are devices.
const char* kRaidz =
    "   pool: big\n"
    "     id: 42\n"
    "  state: ONLINE\n"
    " action: The pool can be imported using its name or numeric identifier.\n"
    " config:\n"
    "\n"
    "\tbig         ONLINE\n"
    "\t  raidz1-0  ONLINE\n"
    "\t    sda1    ONLINE\n"
    "\t    sdb1    ONLINE\n"
    "\t    1234567890123  FAULTED  corrupted data\n"
    "\tlogs\n"
    "\t  nvme0n1p1  ONLINE\n"
    "\tcache\n"
    "\t  nvme0n1p2\n";

}  // namespace

TEST_CASE("listing: names, GUIDs, states, owners and missing members") {
  auto pools = parse_import_listing(kListing21);
  REQUIRE(pools.size() == 4);
  CHECK(pools[0].name == "fpool");
  CHECK(pools[0].guid == "10461745890047082281");
  CHECK(pools[0].needs_force());
  CHECK(pools[0].devices == std::vector<std::string>{"vdd1"});
  CHECK(pools[1].name == "mirr");
  CHECK(pools[1].state == "DEGRADED");
  CHECK_FALSE(pools[1].needs_force());
  CHECK(pools[1].devices == std::vector<std::string>{"vdc1", "vdd1"});
  CHECK(pools[1].missing == std::vector<std::string>{"vdd1 (UNAVAIL)"});
  CHECK(pools[2].needs_force());
  CHECK(pools[3].status.empty());
  CHECK(pools[3].missing.empty());
  CHECK(pools[3].describe().find("importable by this system") != std::string::npos);
  CHECK(pools[2].describe().find("last used by another system") != std::string::npos);
  CHECK(parse_import_listing("no pools available to import\n").empty());
  CHECK(parse_import_listing("").empty());
}

TEST_CASE("listing of OpenZFS 2.3: the same facts from its layout") {
  auto pools = parse_import_listing(kListing23);
  REQUIRE(pools.size() == 4);
  CHECK(pools[0].name == "rpool");
  CHECK(pools[0].guid == "7816133915963576945");
  CHECK(pools[0].needs_force());
  CHECK(pools[0].devices == std::vector<std::string>{"vdd1"});
  CHECK(pools[1].name == "fpool");
  CHECK(pools[1].needs_force());
  CHECK(pools[2].name == "mpool");
  CHECK(pools[2].state == "DEGRADED");
  CHECK_FALSE(pools[2].needs_force());
  CHECK(pools[2].devices == std::vector<std::string>{"vdb1", "vdd1"});
  CHECK(pools[2].missing == std::vector<std::string>{"vdd1 (FAULTED corrupted data)"});
  CHECK(pools[3].guid == "18186590396519858129");
  CHECK(pools[3].status.empty());
  CHECK(pools[3].devices == std::vector<std::string>{"vda1"});
  // The foreign namesake first on the bus loses to this system's rpool.
  PoolChoice c = choose_pool(pools, "rpool");
  REQUIRE(c.kind == PoolChoice::kOne);
  CHECK(c.chosen.guid == "18186590396519858129");
}

TEST_CASE("listing: interior vdevs and sections are not devices") {
  auto pools = parse_import_listing(kRaidz);
  REQUIRE(pools.size() == 1);
  CHECK(pools[0].devices ==
        std::vector<std::string>{"sda1", "sdb1", "1234567890123", "nvme0n1p1", "nvme0n1p2"});
  CHECK(pools[0].missing == std::vector<std::string>{"1234567890123 (FAULTED corrupted data)"});
}

TEST_CASE("choice: a foreign namesake first on the bus loses to this system's pool") {
  auto pools = parse_import_listing(kListing21);
  PoolChoice c = choose_pool(pools, "rpool");
  REQUIRE(c.kind == PoolChoice::kOne);
  CHECK(c.chosen.guid == "7298839655711444730");
  CHECK(c.candidates.size() == 2);
}

TEST_CASE("choice: two namesakes this system could import are ambiguous, a GUID decides") {
  auto pools = parse_import_listing(kListing21);
  pools[2].status.clear();  // the other rpool is importable without -f too (an exported disk)
  CHECK(choose_pool(pools, "rpool").kind == PoolChoice::kAmbiguous);
  PoolChoice g = choose_pool(pools, "6076189613137622942");
  REQUIRE(g.kind == PoolChoice::kOne);
  CHECK(g.chosen.name == "rpool");
  CHECK(choose_pool(pools, "999").kind == PoolChoice::kNone);
  // Two foreign namesakes: never guess, even under zfs_force.
  pools[2].status = pools[0].status;
  pools[3].status = pools[0].status;
  CHECK(choose_pool(pools, "rpool").kind == PoolChoice::kAmbiguous);
}

TEST_CASE("choice: a single pool is chosen whoever owns it (the import explains a foreign one)") {
  auto pools = parse_import_listing(kListing21);
  PoolChoice c = choose_pool(pools, "fpool");
  REQUIRE(c.kind == PoolChoice::kOne);
  CHECK(c.chosen.needs_force());
  CHECK(choose_pool(pools, "nopool").kind == PoolChoice::kNone);
}

TEST_CASE("a GUID is a run of digits: pool names start with a letter") {
  CHECK(looks_like_guid("7298839655711444730"));
  CHECK_FALSE(looks_like_guid("rpool"));
  CHECK_FALSE(looks_like_guid("r2"));
  CHECK_FALSE(looks_like_guid(""));
  CHECK_FALSE(looks_like_guid("123456789012345678901"));
}
