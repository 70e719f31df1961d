// zfs_snapshot_test.cc: snapshot names and the plan of a clone boot.
#include "zfs_snapshot.h"

#include <doctest/doctest.h>

using namespace zinitrd::rt;

TEST_CASE("snapshot names: the kernel release by default, ZFS's characters only") {
  CHECK(snapshot_name_or_default("", "6.1.0-28-amd64") == "6.1.0-28-amd64");
  CHECK(snapshot_name_or_default("pre-upgrade", "6.1.0-28-amd64") == "pre-upgrade");
  CHECK(valid_snapshot_name("6.1.0-28-amd64"));
  CHECK(valid_snapshot_name("a_b:c.d"));
  CHECK_FALSE(valid_snapshot_name(""));
  CHECK_FALSE(valid_snapshot_name("a@b"));
  CHECK_FALSE(valid_snapshot_name("a/b"));
  CHECK_FALSE(valid_snapshot_name(std::string(256, 'a')));
}

TEST_CASE("the snapshots of a tree: the dataset and its descendants, not its siblings") {
  std::string listed =
      "rpool/ROOT/os@before\nrpool/ROOT/os@other\nrpool/ROOT/os/usr@before\n"
      "rpool/ROOT/os-old@before\nrpool/ROOT/os/var/log@before\nrpool/ROOT/os/var@x\n";
  CHECK(tree_snapshots(listed, "rpool/ROOT/os", "before") ==
        std::vector<std::string>{"rpool/ROOT/os@before", "rpool/ROOT/os/usr@before",
                                 "rpool/ROOT/os/var/log@before"});
  CHECK(tree_snapshots(listed, "rpool/ROOT/os", "nope").empty());
  CHECK(tree_snapshots("", "rpool/ROOT/os", "before").empty());
}

TEST_CASE("a clone boot: noauto clones beside the origin, local properties copied") {
  std::vector<std::string> snaps{"rpool/ROOT/os@before", "rpool/ROOT/os/usr@before",
                                 "rpool/ROOT/os/var/log@before"};
  std::string props =
      "rpool/ROOT/os\tmountpoint\t/\nrpool/ROOT/os\tcanmount\tnoauto\n"
      "rpool/ROOT/os\tkeylocation\tprompt\nrpool/ROOT/os\tcompression\tzstd\n"
      "rpool/ROOT/os/usr\tcom.example:note\tx y\n";
  std::string why;
  auto plan = plan_clone("rpool/ROOT/os", "before", snaps, props, "", why);
  REQUIRE(plan.size() == 2);  // var/log: its parent var has no @before
  CHECK(plan[0] == CloneStep{"rpool/ROOT/os@before",
                             "rpool/ROOT/os_before",
                             {{"canmount", "noauto"}, {"mountpoint", "/"}, {"compression", "zstd"}},
                             false});
  CHECK(plan[1] == CloneStep{"rpool/ROOT/os/usr@before",
                             "rpool/ROOT/os_before/usr",
                             {{"canmount", "noauto"}, {"com.example:note", "x y"}},
                             false});
  CHECK(clone_target("rpool/ROOT/os", "before") == "rpool/ROOT/os_before");
}

TEST_CASE("a clone boot again reuses the clone, a stranger in the way stops it") {
  std::vector<std::string> snaps{"p/os@s", "p/os/usr@s"};
  std::string why;
  auto plan = plan_clone("p/os", "s", snaps, "", "p/os_s\tp/os@s\n", why);
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].exists);
  CHECK_FALSE(plan[1].exists);
  plan = plan_clone("p/os", "s", snaps, "", "p/os_s\t-\n", why);
  CHECK(plan.empty());
  CHECK(why == "'p/os_s' exists and is not a clone of 'p/os@s' (its origin is -)");
  plan = plan_clone("p/os", "s", {}, "", "", why);
  CHECK(plan.empty());
  CHECK(why == "'p/os@s' does not exist");
}
