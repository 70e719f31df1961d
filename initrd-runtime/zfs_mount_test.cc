// zfs_mount_test.cc: which child datasets are mounted before init, and the root's options.
#include "zfs_mount.h"

#include <doctest/doctest.h>
#include <sys/mount.h>

using namespace zinitrd::rt;

TEST_CASE("zfs list output is parsed, malformed lines are skipped") {
  auto d = parse_dataset_list(
      "rpool/ROOT/debian\t/\ton\nbroken line\nrpool/ROOT/debian/usr\t/usr\tnoauto\n\n");
  REQUIRE(d.size() == 2);
  CHECK(d[0] == DatasetInfo{"rpool/ROOT/debian", "/", "on"});
  CHECK(d[1] == DatasetInfo{"rpool/ROOT/debian/usr", "/usr", "noauto"});
}

TEST_CASE("encryption columns are parsed, keys to load are the unavailable roots, once") {
  auto d = parse_dataset_list(
      "rpool/ROOT/enc\t/\ton\trpool/ROOT/enc\tunavailable\n"
      "rpool/ROOT/enc/usr\t/usr\ton\trpool/ROOT/enc\tunavailable\n"
      "rpool/ROOT/enc/etc\t/etc\ton\trpool/keys/etc\tunavailable\n"
      "rpool/ROOT/enc/lib\t/lib\ton\trpool/keys/lib\tavailable\n"
      "rpool/ROOT/enc/var\t/var\ton\trpool/keys/var\tunavailable\n"
      "rpool/plain\t/srv\ton\t-\t-\n"
      "four\tfields\tare\twrong\n");
  REQUIRE(d.size() == 6);
  CHECK(d[0] == DatasetInfo{"rpool/ROOT/enc", "/", "on", "rpool/ROOT/enc", "unavailable"});
  CHECK(d[5].encryptionroot == "-");
  CHECK(keys_to_load(d, {"rpool/ROOT/enc", "rpool/ROOT/enc/usr", "rpool/ROOT/enc/etc",
                         "rpool/ROOT/enc/lib", "rpool/plain"}) ==
        std::vector<std::string>{"rpool/ROOT/enc", "rpool/keys/etc"});
  CHECK(keys_to_load(d, {"rpool/plain"}).empty());
  CHECK(keys_to_load(d, {}).empty());
}

TEST_CASE("early children: canmount=on, early paths only, sorted by path") {
  std::vector<DatasetInfo> ds = {
      {"rpool/ROOT/debian", "/", "on"},
      {"rpool/ROOT/debian/var", "/var", "on"},  // the real system mounts it
      {"rpool/ROOT/debian/usr", "/usr", "on"},
      {"rpool/ROOT/debian/etc", "/etc", "on"},
      {"rpool/ROOT/debian/lib64", "/lib64", "on"},
      {"rpool/ROOT/debian/sbin", "/sbin", "noauto"},  // not for us
      {"rpool/ROOT/debian/bin", "/bin", "off"},
      {"rpool/ROOT/debian/lib", "legacy", "on"},  // legacy: fstab's job
      {"rpool/ROOT/debian/usr/local", "/usr/local", "on"},
      {"rpool/ROOT/debian-old/usr", "/usr", "on"},  // a sibling, not a descendant
      {"rpool/home", "/home", "on"},
  };
  auto c = select_early_children("rpool/ROOT/debian", ds);
  REQUIRE(c.size() == 3);
  CHECK(c[0] == ChildMount{"rpool/ROOT/debian/etc", "/etc"});
  CHECK(c[1] == ChildMount{"rpool/ROOT/debian/lib64", "/lib64"});
  CHECK(c[2] == ChildMount{"rpool/ROOT/debian/usr", "/usr"});
}

TEST_CASE("early children of a root mounted elsewhere are relative to its mountpoint") {
  std::vector<DatasetInfo> ds = {
      {"tank/be", "/mnt/be", "on"},
      {"tank/be/usr", "/mnt/be/usr/", "on"},
      {"tank/be/other", "/mnt/be", "on"},
  };
  auto c = select_early_children("tank/be", ds);
  REQUIRE(c.size() == 1);
  CHECK(c[0] == ChildMount{"tank/be/usr", "/usr"});
}

TEST_CASE("a legacy root's children with explicit mountpoints, duplicates skipped") {
  std::vector<DatasetInfo> ds = {
      {"rpool/ROOT/arch", "legacy", "on"},    {"rpool/ROOT/arch/usr", "/usr", "on"},
      {"rpool/ROOT/arch/usr2", "/usr", "on"}, {"rpool/ROOT/arch/etc", "legacy", "on"},
      {"rpool/ROOT/arch/none", "none", "on"},
  };
  auto c = select_early_children("rpool/ROOT/arch", ds);
  REQUIRE(c.size() == 1);
  CHECK(c[0] == ChildMount{"rpool/ROOT/arch/usr", "/usr"});
  CHECK(select_early_children("rpool/ROOT/arch", {}).empty());
}

TEST_CASE("root mount options: ro by default, generic rootflags become flags") {
  CHECK(root_mount_options("", true) == MountOptions{MS_RDONLY, "zfsutil"});
  CHECK(root_mount_options("", false) == MountOptions{0, "zfsutil"});
  MountOptions o = root_mount_options("noatime,xattr=sa,nodev,,zfsutil", false);
  CHECK(o.flags == (MS_NOATIME | MS_NODEV));
  CHECK(o.data == "zfsutil,xattr=sa");
  CHECK(root_mount_options("rw", true).flags == 0);
  CHECK(root_mount_options("ro", false).flags == MS_RDONLY);
  CHECK(root_mount_options("defaults,context=system_u:object_r:root_t:s0", true).data ==
        "zfsutil,context=system_u:object_r:root_t:s0");
}

TEST_CASE("root mode: read-write whatever ro/rw say, rootflags=ro/rw decide") {
  // GRUB's Debian entries pass `ro`; ZFSBootMenu passes neither: both must give a writable root.
  CHECK_FALSE(choose_root_mode("", true).read_only);
  CHECK(choose_root_mode("", true).reason.find("nothing remounts") != std::string::npos);
  CHECK_FALSE(choose_root_mode("", std::nullopt).read_only);
  CHECK_FALSE(choose_root_mode("", false).read_only);
  CHECK(choose_root_mode("noatime,ro", std::nullopt).read_only);
  CHECK(choose_root_mode("ro", false).read_only);
  CHECK_FALSE(choose_root_mode("ro,rw", true).read_only);  // the last one wins, as in mount(8)
  CHECK(choose_root_mode("ro", true).reason.find("rootflags=ro") != std::string::npos);
  auto o = root_mount_options("noatime", choose_root_mode("noatime", true).read_only);
  CHECK((o.flags & MS_RDONLY) == 0);
}
