// luks_devices_test.cc: the LUKS devices an image carries: the sysfs walk under a pool's vdevs
// (fixture tree), crypttab planning against fixture roots (generic and --host-only), and whole
// builds whose boot config and key files come from a fixture root's crypttab, never the host's.
#include "luks_devices.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>

#include "boot_config.h"
#include "build.h"
#include "build_fixture.h"
#include "image_reader.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace zinitrd;
using namespace zinitrd::gen;
using zinitrd::test::TempDir;
using zinitrd::test::write_file;

namespace {

constexpr const char* kA = "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d";
constexpr const char* kB = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9";

bool any_contains(const std::vector<std::string>& v, std::string_view needle) {
  return std::any_of(v.begin(), v.end(),
                     [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

// A block device directory under SYS with its dev file and /sys/dev/block link.
fs::path block(const TempDir& sys, const std::string& rel, int ma, int mi) {
  fs::path node = sys / rel;
  fs::create_directories(node);
  write_file(node / "dev", std::to_string(ma) + ":" + std::to_string(mi) + "\n");
  fs::create_directories(sys / "dev/block");
  fs::create_symlink(node, sys / ("dev/block/" + std::to_string(ma) + ":" + std::to_string(mi)));
  return node;
}

// dm-N over SLAVES, with dm/uuid and dm/name.
fs::path dm(const TempDir& sys, int n, const std::string& uuid, const std::string& name,
            const std::vector<fs::path>& slaves) {
  fs::path node = block(sys, "devices/virtual/block/dm-" + std::to_string(n), 253, n);
  write_file(node / "dm/uuid", uuid + "\n");
  write_file(node / "dm/name", name + "\n");
  fs::create_directories(node / "slaves");
  for (const auto& s : slaves) fs::create_symlink(s, node / "slaves" / s.filename());
  return node;
}

}  // namespace

TEST_CASE("sysfs: a mirror of two dm-crypt devices gives both mappings and the disks below") {
  TempDir sys("zinitrd-sysfs");
  fs::path vda1 = block(sys, "devices/pci0000:00/0000:00:03.0/virtio1/block/vda/vda1", 254, 1);
  fs::path vdb1 = block(sys, "devices/pci0000:00/0000:00:04.0/virtio2/block/vdb/vdb1", 254, 17);
  dm(sys, 0, "CRYPT-LUKS2-0a1b2c3d4e5f4a6b8c7d9e8f7a6b5c4d-crypt-a", "crypt-a", {vda1});
  dm(sys, 1, "CRYPT-LUKS1-5E6F7A8B9C0D4E1FA2B3C4D5E6F7A8B9-crypt-b", "crypt-b", {vdb1});
  std::vector<dev_t> leaves;
  std::vector<LuksMapping> luks;
  for (int n : {0, 1})
    REQUIRE(collect_stacked_devices(sys.path().string(), makedev(253, n), leaves, luks).ok());
  CHECK(leaves == std::vector<dev_t>{makedev(254, 1), makedev(254, 17)});
  CHECK(luks ==
        std::vector<LuksMapping>{{"crypt-a", kA, "/dev/vda1"}, {"crypt-b", kB, "/dev/vdb1"}});

  SUBCASE("LUKS over LVM: the LV is not a LUKS device, the disk is the leaf") {
    fs::path vdc1 = block(sys, "devices/pci0000:00/0000:00:05.0/virtio3/block/vdc/vdc1", 254, 33);
    fs::path lv = dm(sys, 2, "LVM-abcdef", "vg-pool", {vdc1});
    dm(sys, 3, "CRYPT-LUKS2-0a1b2c3d4e5f4a6b8c7d9e8f7a6b5c4e-crypt-c", "crypt-c", {lv});
    std::vector<dev_t> l2;
    std::vector<LuksMapping> k2;
    REQUIRE(collect_stacked_devices(sys.path().string(), makedev(253, 3), l2, k2).ok());
    CHECK(l2 == std::vector<dev_t>{makedev(254, 33)});
    REQUIRE(k2.size() == 1);
    CHECK(k2[0].device == "/dev/dm-2");
  }
  SUBCASE("a plain disk is its own leaf; an unknown device is an error naming sysfs") {
    std::vector<dev_t> l3;
    std::vector<LuksMapping> k3;
    REQUIRE(collect_stacked_devices(sys.path().string(), makedev(254, 1), l3, k3).ok());
    CHECK(l3 == std::vector<dev_t>{makedev(254, 1)});
    CHECK(k3.empty());
    auto bad = collect_stacked_devices(sys.path().string(), makedev(8, 0), l3, k3);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("dev/block/8:0") != std::string::npos);
  }
}

TEST_CASE("dm-crypt UUIDs give the LUKS UUID as cryptsetup prints it") {
  CHECK(luks_uuid_of_dm_uuid("CRYPT-LUKS2-0a1b2c3d4e5f4a6b8c7d9e8f7a6b5c4d-x") == kA);
  CHECK(luks_uuid_of_dm_uuid("CRYPT-PLAIN-cswap").empty());
  CHECK(luks_uuid_of_dm_uuid("CRYPT-LUKS2-0a1b").empty());
  CHECK(luks_uuid_of_dm_uuid("LVM-x").empty());
}

TEST_CASE("crypttab plan: LUKS entries with their key files, swap, noauto, headers left out") {
  TempDir root("zinitrd-root");
  write_file(root / "etc/crypttab",
             std::string("# <target name> <source device> <key file> <options>\n") +
                 "crypt-a UUID=" + kA + " none luks,discard\n" + "crypt-b UUID=" + kB +
                 " /etc/keys/b.key luks\n" + "crypt-c /dev/vdc1 /etc/keys/gone.key\n" +
                 "crypt-d PARTUUID=1234-5678 none\n" +
                 "crypt-e /dev/disk/by-id/ata-X-part2 none\n" +
                 "cswap /dev/vdz1 /dev/urandom swap,cipher=aes-xts-plain64\n" + "later UUID=" + kA +
                 " none noauto\n" + "detached /dev/vdy1 none header=/boot/h.img\n" +
                 "tpm /dev/vdx1 none tpm2-device=auto\n" + "rawkey /dev/vdw1 /dev/sdz none\n");
  write_file(root / "etc/keys/b.key", "secret");
  RootFs fs_root(root.path().string());
  auto lookup = [](const std::string& source) {
    return source == "PARTUUID=1234-5678" ? std::string(kB) : std::string();
  };
  LuksPlan p = plan_luks_devices(fs_root, nullptr, lookup);
  std::vector<std::string> names;
  for (const auto& e : p.entries) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"crypt-a", "crypt-b", "crypt-c", "crypt-d", "crypt-e",
                                          "tpm", "rawkey"});
  CHECK(p.entries[0] == BootLuks{"crypt-a", std::string("UUID=") + kA, "", {"luks", "discard"}});
  CHECK(p.keys == std::vector<std::pair<std::string, std::string>>{{"/etc/keys/b.key", "crypt-b"}});
  CHECK(p.entries[2].key_file == "/etc/keys/gone.key");     // /init says it is missing, then asks
  CHECK(p.entries[3].source == std::string("UUID=") + kB);  // PARTUUID= resolved at build time
  CHECK(p.entries[4].source == "/dev/disk/by-id/ata-X-part2");
  CHECK(p.entries[6].key_file.empty());
  INFO(p.warnings.size());
  CHECK(any_contains(p.warnings, "key file /etc/keys/gone.key is not in " + root.path().string()));
  CHECK(any_contains(p.warnings, "crypttab entry 'crypt-e' names its device as /dev/disk/by-id"));
  CHECK(any_contains(p.warnings, "'detached' has a detached header"));
  CHECK(any_contains(p.warnings, "'tpm': option tpm2-device=auto"));
  CHECK(any_contains(p.warnings, "'rawkey': its key /dev/sdz"));
  CHECK(p.notes.empty());

  SUBCASE("--root: PARTUUID= is not looked up on the host") {
    LuksPlan q = plan_luks_devices(fs_root, nullptr, {});
    CHECK(q.entries[3].source == "PARTUUID=1234-5678");
    CHECK(any_contains(q.warnings, "'crypt-d' names its device as PARTUUID=1234-5678"));
  }
}

TEST_CASE("crypttab plan --host-only: only the pool's entries, a pool device crypttab lacks") {
  TempDir root("zinitrd-root");
  write_file(root / "etc/crypttab", std::string("crypt-a UUID=") + kA + " none luks\n" +
                                        "home /dev/vdh1 none luks\n" +
                                        "spare /dev/vdb1 none noauto\n");
  RootFs fs_root(root.path().string());
  std::vector<LuksMapping> pool{{"crypt-a", kA, "/dev/vda1"},
                                {"crypt-x", kB, "/dev/vdc1"},
                                {"spare", "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4e", "/dev/vdb1"}};
  LuksPlan p = plan_luks_devices(fs_root, &pool, {});
  std::vector<std::string> names;
  for (const auto& e : p.entries) names.push_back(e.name);
  // noauto does not keep out a device the pool needs; crypt-x comes from sysfs alone.
  CHECK(names == std::vector<std::string>{"crypt-a", "spare", "crypt-x"});
  CHECK(p.entries[2] == BootLuks{"crypt-x", std::string("UUID=") + kB, "", {}});
  CHECK(any_contains(p.notes, "crypttab entry 'home' (/dev/vdh1) is not under the root pool"));
  CHECK(any_contains(p.warnings, "add `crypt-x UUID=" + std::string(kB) + " none luks`"));
}

TEST_CASE("crypttab plan: no crypttab, nothing carried") {
  TempDir root("zinitrd-root");
  LuksPlan p = plan_luks_devices(RootFs(root.path().string()), nullptr, {});
  CHECK(p.entries.empty());
  CHECK(p.warnings.empty());
}

TEST_CASE("a build carries the root's crypttab entries and key files, never the host's") {
  std::string kver = test::installed_kver();
  if (kver.empty()) {
    MESSAGE("SKIPPED: no installed kernel under /lib/modules");
    return;
  }
  TempDir root("zinitrd-build-root"), outdir("zinitrd-build-out"), features("zinitrd-features");
  REQUIRE(build_fixture::make_module_root(root.path(), kver));
  write_file(root / "etc/crypttab", std::string("cryptroot UUID=") + kA +
                                        " /etc/keys/root.key luks,discard\n" +
                                        "cryptdata /dev/vdb1 /etc/keys/absent.key\n");
  write_file(root / "etc/keys/root.key", "0123456789abcdef");
  // The crypttab part of the luks feature, without the programs a fixture root lacks.
  write_file(features / "ct/feature.conf", "when = has-entries:/etc/crypttab\ncrypttab = yes\n");
  auto o = build_fixture::options_for(root.path(), kver, outdir / "img");
  o.feature_dirs.push_back(features.path().string());
  o.omit = {"zfs", "luks"};
  auto r = build_image(o);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  CHECK(std::find(r->features.begin(), r->features.end(), "ct") != r->features.end());
  CHECK(any_contains(r->notes, "/etc/keys/root.key (LUKS cryptroot)"));
  CHECK(any_contains(r->warnings, "key file /etc/keys/absent.key is not in"));

  const std::string img = (outdir / "img").string();
  auto text = read_image_member(img, kBootConfigPath);
  REQUIRE(text.ok());
  auto boot = parse_boot_config(*text);
  REQUIRE(boot.ok());
  REQUIRE(boot->luks.size() == 2);
  CHECK(
      boot->luks[0] ==
      BootLuks{"cryptroot", std::string("UUID=") + kA, "/etc/keys/root.key", {"luks", "discard"}});
  CHECK(boot->luks[1].name == "cryptdata");
  auto key = read_image_member(img, "/etc/keys/root.key");
  REQUIRE(key.ok());
  CHECK(*key == "0123456789abcdef");
  auto members = list_image(img);
  REQUIRE(members.ok());
  for (const auto& m : *members) {
    if (m.path == "/etc/keys/root.key") CHECK((m.mode & 07777) == 0600);
    CHECK(m.path != "/etc/crypttab");  // the entries live in the boot config
  }
  struct stat st;
  REQUIRE(::stat(img.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("an image of this host with --add luks carries cryptsetup, dm-crypt and the ciphers") {
  std::string kver = test::installed_kver();
  if (test::installed_zfs_ko(kver).empty() || !fs::exists("/usr/sbin/cryptsetup")) {
    MESSAGE("SKIPPED: zfs.ko or cryptsetup not installed (run scripts/setup-debian.sh)");
    return;
  }
  TempDir outdir("zinitrd-build-out");
  auto o = build_fixture::options_for("/", kver, outdir / "a.img");
  o.add = {"luks"};
  auto r = build_image(o);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  auto members = list_image((outdir / "a.img").string());
  REQUIRE(members.ok());
  auto has = [&](std::string_view suffix) {
    return std::any_of(members->begin(), members->end(),
                       [&](const ImageMember& m) { return m.path.ends_with(suffix); });
  };
  for (const char* p : {"/sbin/cryptsetup", "/libcryptsetup.so.12", "/libdevmapper.so.1.02.1",
                        "/dm-crypt.ko", "/dm-mod.ko", "/xts.ko", "/ecb.ko", "/algif_skcipher.ko",
                        "/af_alg.ko", "/aesni-intel.ko", "/essiv.ko"})
    CHECK_MESSAGE(has(p), p);
  auto text = read_image_member((outdir / "a.img").string(), kBootConfigPath);
  REQUIRE(text.ok());
  auto boot = parse_boot_config(*text);
  REQUIRE(boot.ok());
  CHECK(std::find(boot->load.begin(), boot->load.end(), "dm_crypt") != boot->load.end());
  CHECK(std::find(boot->load.begin(), boot->load.end(), "xts") == boot->load.end());  // on demand
}
