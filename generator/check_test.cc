// check_test.cc: `zinitrd check` items against fixture facts (dkms status lines as dkms 3.0.10
// prints them on this host; `zdb -C` text written by hand in OpenZFS 2.1's layout, since no pool is
// imported here), and run_checks() end to end with a fake command runner, on a fixture root and
// on the installed Debian kernel with an image built by the zinitrd binary.
#include "check.h"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "test_support.h"

namespace fs = std::filesystem;
using namespace zinitrd::gen;
using zinitrd::test::TempDir;
using zinitrd::test::write_file;

namespace {

const char* kKver = "6.1.0-28-amd64";

std::string hostid_bytes(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

// `zdb -C` of a cache holding rpool (imported under hostid 0x0e7c8a0e) and a stale pool "tank".
const char* kZdbCache =
    "rpool:\n"
    "    version: 5000\n"
    "    name: 'rpool'\n"
    "    state: 0\n"
    "    txg: 4242\n"
    "    pool_guid: 1234567890\n"
    "    errata: 0\n"
    "    hostid: 243042830\n"
    "    hostname: 'deb'\n"
    "    vdev_children: 1\n"
    "    vdev_tree:\n"
    "        type: 'root'\n"
    "        id: 0\n"
    "        children[0]:\n"
    "            type: 'disk'\n"
    "            path: '/dev/vda3'\n"
    "tank:\n"
    "    version: 5000\n"
    "    name: 'tank'\n"
    "    hostid: 1\n";

ModuleFact mod(std::string name, std::string kver, bool present = true) {
  return ModuleFact{name, present ? "/lib/modules/" + kver + "/updates/dkms/" + name + ".ko" : "",
                    kver + " SMP preempt mod_unload modversions ", false};
}

CheckItem find(const std::vector<CheckItem>& items, std::string_view id) {
  for (const auto& i : items)
    if (i.id == id) return i;
  FAIL("no item " << id);
  return {};
}

// A runner answering from a table keyed by the joined argv; anything else "is not installed".
struct FakeRunner {
  std::map<std::string, CommandOutput> answers;
  std::vector<std::string> calls;
  CommandOutput operator()(const std::vector<std::string>& argv) {
    std::string key;
    for (const auto& a : argv) key += (key.empty() ? "" : " ") + a;
    calls.push_back(key);
    auto it = answers.find(key);
    return it == answers.end() ? CommandOutput{false, 127, ""} : it->second;
  }
};

// The installed kernel when DKMS has built zfs.ko for it, else "".
std::string installed_kver() {
  std::string k = zinitrd::test::installed_kver();
  return zinitrd::test::installed_zfs_ko(k).empty() ? std::string() : k;
}

}  // namespace

TEST_CASE("parse_dkms_state reads dkms 3 and dkms 2 lines for one kernel") {
  const char* out3 =
      "zfs/2.1.11, 6.1.0-27-amd64, x86_64: installed\n"
      "zfs/2.1.11, 6.1.0-28-amd64, x86_64: installed (WARNING! Diff between built and installed "
      "module!)\n"
      "nvidia/535, 6.1.0-28-amd64, x86_64: built\n";
  CHECK(parse_dkms_state(out3, "zfs", "6.1.0-27-amd64") == "installed");
  CHECK(parse_dkms_state(out3, "zfs", kKver) ==
        "installed (WARNING! Diff between built and installed module!)");
  CHECK(parse_dkms_state(out3, "nvidia", kKver) == "built");
  CHECK(parse_dkms_state(out3, "zfs", "6.1.0-99-amd64") == "");
  CHECK(parse_dkms_state("zfs, 0.8.6, 6.1.0-28-amd64, x86_64: built\n", "zfs", kKver) == "built");
  // dkms status -k KVER for a kernel nothing was built for: the module is only added.
  CHECK(parse_dkms_state("zfs/2.1.11: added\n", "zfs", kKver) == "added");
  CHECK(parse_dkms_state("", "zfs", kKver) == "");
  CHECK(parse_dkms_state("zfsx/1.0, 6.1.0-28-amd64, x86_64: installed\n", "zfs", kKver) == "");
}

TEST_CASE("hostid, zdb and version parsers") {
  CHECK(parse_hostid_file(hostid_bytes(0x0e7c8a0e)) == 0x0e7c8a0eu);
  CHECK_FALSE(parse_hostid_file("abc").has_value());
  CHECK_FALSE(parse_hostid_file("").has_value());
  CHECK(parse_zdb_pools(kZdbCache) == std::vector<std::string>{"rpool", "tank"});
  CHECK(parse_zdb_hostid(kZdbCache, "rpool") == 243042830u);
  CHECK(parse_zdb_hostid(kZdbCache, "tank") == 1u);
  CHECK_FALSE(parse_zdb_hostid(kZdbCache, "bpool").has_value());
  CHECK(upstream_version("zfs-2.1.11-1") == "2.1.11");
  CHECK(upstream_version("zfs-kmod-2.2.0-rc1") == "2.2.0");
  CHECK(upstream_version("2.1.11-1+deb12u1") == "2.1.11");
  CHECK(upstream_version("2.2.7") == "2.2.7");
}

TEST_CASE("cmdline_wants_bootfs follows the README's forms, the last root parameter wins") {
  CHECK(cmdline_wants_bootfs("BOOT_IMAGE=/vmlinuz root=zfs:AUTO ro quiet"));
  CHECK(cmdline_wants_bootfs("root=zfs"));
  CHECK(cmdline_wants_bootfs("root=zfs: ro"));
  CHECK(cmdline_wants_bootfs("zfs=bootfs"));
  CHECK(cmdline_wants_bootfs("zfs=auto"));
  CHECK_FALSE(cmdline_wants_bootfs("root=zfs:rpool/ROOT/debian ro"));
  CHECK_FALSE(cmdline_wants_bootfs("root=ZFS=rpool/ROOT/debian"));
  CHECK_FALSE(cmdline_wants_bootfs("root=zfs:AUTO root=zfs:rpool/ROOT/debian"));
  CHECK_FALSE(cmdline_wants_bootfs("root=/dev/sda1 -- root=zfs:AUTO"));
}

TEST_CASE("zfs-module: present, missing, missing dependency, vermagic of another kernel") {
  std::vector<ModuleFact> good = {mod("zfs", kKver), mod("spl", kKver), mod("znvpair", kKver)};
  CheckItem ok = check_zfs_module(kKver, good, "");
  CHECK(ok.state == CheckState::kOk);
  CHECK(ok.detail.find("2 dependencies") != std::string::npos);

  CheckItem none = check_zfs_module(kKver, {mod("zfs", kKver, false)}, "");
  CHECK(none.state == CheckState::kFail);
  CHECK(none.detail == "zfs.ko is not built for 6.1.0-28-amd64");
  CHECK(none.fix.find("dkms autoinstall -k 6.1.0-28-amd64") != std::string::npos);

  std::vector<ModuleFact> bad = {mod("zfs", kKver), mod("spl", kKver, false),
                                 mod("zavl", "6.1.0-27-amd64"), mod("icp", "6.1.0-27-amd64")};
  CheckItem b = check_zfs_module(kKver, bad, "");
  CHECK(b.state == CheckState::kFail);
  // Every problem in one message.
  CHECK(b.detail.find("missing for 6.1.0-28-amd64: spl") != std::string::npos);
  CHECK(b.detail.find("zavl (built for 6.1.0-27-amd64) icp (built for 6.1.0-27-amd64)") !=
        std::string::npos);

  CheckItem idx = check_zfs_module(kKver, {}, "no modules for 6.1.0-28-amd64");
  CHECK(idx.state == CheckState::kFail);
  CHECK(idx.detail == "no modules for 6.1.0-28-amd64");

  ModuleFact builtin{"zfs", "", "", true};
  CHECK(check_zfs_module(kKver, {builtin}, "").state == CheckState::kOk);
}

TEST_CASE("dkms: installed, warning, only added, absent, dkms not installed") {
  CHECK(check_dkms(kKver, std::string("zfs/2.1.11, 6.1.0-28-amd64, x86_64: installed\n"), true)
            .state == CheckState::kOk);
  CHECK(check_dkms(kKver,
                   std::string(
                       "zfs/2.1.11, 6.1.0-28-amd64, x86_64: installed (WARNING! Diff between built "
                       "and installed module!)\n"),
                   true)
            .state == CheckState::kWarn);
  CheckItem added = check_dkms(kKver, std::string("zfs/2.1.11: added\n"), false);
  CHECK(added.state == CheckState::kFail);
  CHECK(added.fix.find("dkms autoinstall -k 6.1.0-28-amd64") != std::string::npos);
  CHECK(check_dkms(kKver, std::string("zfs/2.1.11, 6.1.0-28-amd64, x86_64: built\n"), true).state ==
        CheckState::kWarn);
  CHECK(check_dkms(kKver, std::string(""), false).state == CheckState::kFail);
  CHECK(check_dkms(kKver, std::string(""), true).state == CheckState::kOk);
  CHECK(check_dkms(kKver, std::nullopt, true).state == CheckState::kOk);
  CHECK(check_dkms(kKver, std::nullopt, false).state == CheckState::kUnknown);
}

TEST_CASE("zfs-version: same upstream version, other patch level, other minor version, unknown") {
  CHECK(check_versions("2.1.11-1+deb12u1", "zfs-2.1.11-1").state == CheckState::kOk);
  CHECK(check_versions("2.1.11-1+deb12u1", "2.1.11-1+deb12u1").state == CheckState::kOk);
  CHECK(check_versions("2.1.12-1", "zfs-2.1.11-1").state == CheckState::kWarn);
  CHECK(check_versions("2.2.0-1", "zfs-2.1.11-1").state == CheckState::kFail);
  CHECK(check_versions("", "zfs-2.1.11-1").state == CheckState::kUnknown);
  CHECK(check_versions("2.1.11", "").state == CheckState::kUnknown);
}

TEST_CASE("hostid: against the pool's last hostid") {
  std::string id = hostid_bytes(243042830);
  CHECK(check_hostid(id, 243042830u, "rpool").state == CheckState::kOk);
  CHECK(check_hostid(id, std::nullopt, "").state == CheckState::kOk);
  CheckItem other = check_hostid(hostid_bytes(7), 243042830u, "rpool");
  CHECK(other.state == CheckState::kFail);
  CHECK(other.detail.find("0x00000007") != std::string::npos);
  CHECK(other.fix.find("zgenhostid -f 0x0e7c8a0e") != std::string::npos);
  CHECK(check_hostid(std::nullopt, 243042830u, "rpool").state == CheckState::kFail);
  CHECK(check_hostid(std::nullopt, std::nullopt, "rpool").state == CheckState::kWarn);
  CHECK(check_hostid(hostid_bytes(0), std::nullopt, "rpool").state == CheckState::kWarn);
  CHECK(check_hostid(hostid_bytes(0), 5u, "rpool").state == CheckState::kFail);
  CHECK(check_hostid(std::string("12345"), std::nullopt, "").state == CheckState::kFail);
}

TEST_CASE("root-dataset and zpool-cache") {
  PoolFacts p;
  p.unusable = "`zpool list` failed (the zfs module is not loaded on this host?)";
  p.cache = kZdbCache;
  CHECK(check_root_dataset(p).state == CheckState::kUnknown);
  CheckItem cu = check_zpool_cache(p);
  CHECK(cu.state == CheckState::kUnknown);
  CHECK(cu.detail.find("rpool tank") != std::string::npos);

  p.unusable.clear();
  p.imported = {"rpool"};
  p.root_dataset = "rpool/ROOT/debian";
  p.root_dataset_exists = true;
  CHECK(check_root_dataset(p).state == CheckState::kOk);
  CheckItem stale = check_zpool_cache(p);
  CHECK(stale.state == CheckState::kWarn);
  CHECK(stale.detail.find("not imported: tank") != std::string::npos);
  p.imported = {"rpool", "tank"};
  CHECK(check_zpool_cache(p).state == CheckState::kOk);
  p.cache.reset();
  CHECK(check_zpool_cache(p).state == CheckState::kOk);

  p.root_dataset_exists = false;
  CHECK(check_root_dataset(p).state == CheckState::kFail);

  p.wants_bootfs = true;
  p.bootfs = "-";
  CHECK(check_root_dataset(p).state == CheckState::kFail);
  p.bootfs = "rpool/ROOT/debian";
  p.bootfs_exists = false;
  CHECK(check_root_dataset(p).state == CheckState::kFail);
  p.bootfs_exists = true;
  CHECK(check_root_dataset(p).state == CheckState::kOk);

  PoolFacts not_zfs;
  CHECK(check_root_dataset(not_zfs).state == CheckState::kUnknown);
}

TEST_CASE("image items: missing, complete, stale, without zfs/hostid/runtime") {
  ImageFacts img;
  img.path = "/boot/initrd.img-6.1.0-28-amd64";
  auto missing = check_image(kKver, img);
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].state == CheckState::kFail);
  CHECK(missing[0].fix == "run `zinitrd build --kver 6.1.0-28-amd64`");

  img.exists = true;
  img.mtime = 200;
  img.module_mtime = 100;
  img.host_hostid = hostid_bytes(42);
  img.hostid = hostid_bytes(42);
  auto member = [](std::string path, mode_t mode) {
    ImageMember m;
    m.path = std::move(path);
    m.mode = mode;
    return m;
  };
  img.members = {member("/init", S_IFLNK | 0777), member("/usr/lib/zinitrd/init", S_IFREG | 0755),
                 member("/usr/lib/modules/6.1.0-28-amd64/updates/dkms/zfs.ko", S_IFREG | 0644),
                 member("/etc/hostid", S_IFREG | 0644)};
  auto good = check_image(kKver, img);
  for (const auto& i : good) CHECK_MESSAGE(i.state == CheckState::kOk, i.id << ": " << i.detail);
  CHECK(check_exit_status(good) == 0);

  ImageFacts bad = img;
  bad.module_mtime = 300;
  bad.hostid = hostid_bytes(43);
  bad.members = {member("/init", S_IFREG | 0755),
                 member("/usr/lib/modules/6.1.0-27-amd64/updates/dkms/zfs.ko", S_IFREG | 0644)};
  auto b = check_image(kKver, bad);
  CHECK(find(b, "image-fresh").state == CheckState::kWarn);
  CHECK(find(b, "image-zfs").state == CheckState::kFail);  // zfs.ko of another kernel
  CHECK(find(b, "image-hostid").state == CheckState::kFail);
  CHECK(find(b, "image-runtime").state == CheckState::kWarn);
  CHECK(check_exit_status(b) == 1);

  bad.hostid.reset();
  bad.members.clear();
  b = check_image(kKver, bad);
  CHECK(find(b, "image-hostid").detail == "contains no /etc/hostid");
  CHECK(find(b, "image-runtime").state == CheckState::kFail);

  ImageFacts corrupt = img;
  corrupt.read_error = "read '/boot/x': not an initramfs";
  auto c = check_image(kKver, corrupt);
  REQUIRE(c.size() == 1);
  CHECK(c[0].state == CheckState::kFail);
}

TEST_CASE("text and JSON output, exit status") {
  std::vector<CheckItem> items = {
      {"zfs-module", CheckState::kOk, "fine", ""},
      {"image", CheckState::kFail, "no image at \"/boot/x\"\n", "run `zinitrd build`"}};
  std::string text = format_check_text(kKver, items);
  CHECK(text.find("  ok       zfs-module     fine\n") != std::string::npos);
  CHECK(text.find("  FAIL     image") != std::string::npos);
  CHECK(text.find("fix: run `zinitrd build`") != std::string::npos);
  CHECK(text.find("1 item(s) would stop the boot") != std::string::npos);
  std::string json = format_check_json(kKver, items);
  CHECK(json ==
        "{\"kver\":\"6.1.0-28-amd64\",\"ok\":false,\"items\":["
        "{\"id\":\"zfs-module\",\"state\":\"ok\",\"detail\":\"fine\",\"fix\":\"\"},"
        "{\"id\":\"image\",\"state\":\"fail\",\"detail\":\"no image at \\\"/boot/x\\\"\\n\","
        "\"fix\":\"run `zinitrd build`\"}]}\n");
  CHECK(check_exit_status(items) == 1);
  items.pop_back();
  CHECK(check_exit_status(items) == 0);
  CHECK(format_check_json(kKver, items).find("\"ok\":true") != std::string::npos);
}

TEST_CASE(
    "run_checks on a fixture root without modules: every item answers, pool items from fakes") {
  TempDir t;
  write_file(t.path() / "etc/hostid", hostid_bytes(243042830));
  write_file(t.path() / "etc/zfs/zpool.cache", "binary nvlist, read through zdb");
  write_file(t.path() / "proc/cmdline", "root=zfs:AUTO ro");
  FakeRunner fake;
  std::string cache = (t.path() / "etc/zfs/zpool.cache").string();
  fake.answers["dkms status -k " + std::string(kKver)] = {true, 0, "zfs/2.1.11: added\n"};
  fake.answers["zfs version"] = {true, 1, ""};
  fake.answers["dpkg-query -W -f=${Version} zfsutils-linux"] = {true, 0, "2.1.11-1+deb12u1"};
  fake.answers["zdb -C -U " + cache] = {true, 0, kZdbCache};
  fake.answers["findmnt -n -o FSTYPE,SOURCE --mountpoint " + t.path().string()] = {
      true, 0, "zfs   rpool/ROOT/debian\n"};
  fake.answers["zpool list -H -o name"] = {true, 0, "rpool\n"};
  fake.answers["zfs list -H -o name rpool/ROOT/debian"] = {true, 0, "rpool/ROOT/debian\n"};
  fake.answers["zpool get -H -o value bootfs rpool"] = {true, 0, "rpool/ROOT/debian\n"};

  CheckOptions opt;
  opt.root = t.path().string();
  opt.kver = kKver;
  auto items = run_checks(opt, std::ref(fake));
  CHECK(find(items, "zfs-module").state == CheckState::kFail);
  CHECK(find(items, "zfs-module").detail.find("does not exist") != std::string::npos);
  CHECK(find(items, "dkms").state == CheckState::kFail);
  CHECK(find(items, "zfs-version").state == CheckState::kUnknown);  // no zfs.ko to compare with
  CHECK(find(items, "hostid").state == CheckState::kOk);
  CHECK(find(items, "hostid").detail.find("as pool rpool was last imported") != std::string::npos);
  CHECK(find(items, "root-dataset").state == CheckState::kOk);
  CHECK(find(items, "root-dataset").detail == "bootfs rpool/ROOT/debian exists");
  CHECK(find(items, "zpool-cache").state == CheckState::kWarn);  // tank is cached, not imported
  CHECK(find(items, "image").detail ==
        "no image at " + (t.path() / "boot/initrd.img-6.1.0-28-amd64").string());
  CHECK(check_exit_status(items) == 1);

  // Without the zfs module on the host: pool items are unknown, never failed.
  fake.answers["zpool list -H -o name"] = {true, 1, ""};
  items = run_checks(opt, std::ref(fake));
  CHECK(find(items, "root-dataset").state == CheckState::kUnknown);
  CHECK(find(items, "zpool-cache").state == CheckState::kUnknown);
  CHECK(find(items, "root-dataset").detail.find("zfs module is not loaded") != std::string::npos);
}

TEST_CASE("run_checks reads files inside the root only, never the host's behind a symlink") {
  // OUTSIDE stands for the host: the root's absolute symlinks name paths that exist there. Inside
  // the root they lead nowhere (or to the root's own files), so none of OUTSIDE's may be seen.
  TempDir root("zinitrd-check-root"), outside("zinitrd-check-host");
  write_file(outside / "lib/modules" / kKver / "modules.dep", "updates/dkms/zfs.ko:\n");
  write_file(outside / ("boot/initrd.img-" + std::string(kKver)), "not an image");
  write_file(outside / "cache", "the host's cache");
  zinitrd::test::write_symlink(root / "lib/modules", (outside / "lib/modules").string());
  zinitrd::test::write_symlink(root / "boot", (outside / "boot").string());
  // An absolute link inside the root to the root's own cache file.
  write_file(root / "var/cache.real", "the root's cache");
  zinitrd::test::write_symlink(root / "etc/zfs/zpool.cache", "/var/cache.real");
  // /etc/kernel/cmdline that exists but cannot be read as a file: /proc/cmdline is used instead.
  fs::create_directories(root / "etc/kernel/cmdline");
  write_file(root / "proc/cmdline", "root=zfs:AUTO");

  FakeRunner fake;
  fake.answers["zdb -C -U " + (root / "var/cache.real").string()] = {true, 0, kZdbCache};
  fake.answers["zpool list -H -o name"] = {true, 0, "rpool\n"};
  fake.answers["zpool get -H -o value bootfs rpool"] = {true, 0, "rpool/ROOT/debian\n"};
  fake.answers["zfs list -H -o name rpool/ROOT/debian"] = {true, 0, "rpool/ROOT/debian\n"};
  CheckOptions opt;
  opt.root = root.path().string();
  opt.kver = kKver;
  auto items = run_checks(opt, std::ref(fake));
  CHECK(find(items, "zfs-module").detail == "no modules for " + std::string(kKver) + " (" +
                                                (root / "lib/modules").string() + "/" + kKver +
                                                " does not exist)");
  CHECK(find(items, "image").state == CheckState::kFail);
  CHECK(find(items, "image").detail ==
        "no image at " + (root / "boot/initrd.img-").string() + kKver);
  for (const auto& call : fake.calls)
    CHECK(call.find(outside.path().string()) == std::string::npos);
  CHECK(find(items, "zpool-cache").state == CheckState::kWarn);  // the root's cache: tank is stale
  CHECK(find(items, "root-dataset").detail == "bootfs rpool/ROOT/debian exists");  // AUTO
}

TEST_CASE("run_checks: a command that gives no answer in time is an unknown, never a hang") {
  TempDir t;
  FakeRunner fake;
  CommandOutput hung{true, 128 + 9, "", true};
  fake.answers["dkms status -k " + std::string(kKver)] = hung;
  fake.answers["zpool list -H -o name"] = hung;
  CheckOptions opt;
  opt.root = t.path().string();
  opt.kver = kKver;
  auto items = run_checks(opt, std::ref(fake));
  CHECK(find(items, "dkms").state == CheckState::kUnknown);
  CHECK(find(items, "dkms").detail.find("gave no answer in time") != std::string::npos);
  CHECK(find(items, "root-dataset").state == CheckState::kUnknown);
  CHECK(find(items, "root-dataset").detail.find("gave no answer in 20 s") != std::string::npos);
  CHECK(run_check_command({"sleep", "0"}).ok());
}

TEST_CASE("run_checks on the installed kernel with an image built by zinitrd") {
  std::string kver = installed_kver();
  if (kver.empty()) {
    return zinitrd::test::skip(
        "no installed kernel under /lib/modules (run scripts/setup-debian.sh)");
  }
  TempDir t;
  std::string image = (t.path() / "initrd.img").string();
  REQUIRE(
      run_command({ZINITRD_BINARY_DIR "/bin/zinitrd", "build", "-q", "--kver", kver, "-o", image},
                  CommandOptions{300'000, false})
          .ok());
  FakeRunner fake;
  fake.answers["dkms status -k " + kver] = {true, 0,
                                            "zfs/2.1.11, " + kver + ", x86_64: installed\n"};
  fake.answers["zpool list -H -o name"] = {true, 1, ""};
  CheckOptions opt;
  opt.kver = kver;
  opt.image = image;
  auto items = run_checks(opt, std::ref(fake));
  CHECK(find(items, "zfs-module").state == CheckState::kOk);
  CHECK(find(items, "zfs-module").detail.find("/updates/dkms/zfs.ko and ") != std::string::npos);
  CHECK(find(items, "dkms").state == CheckState::kOk);
  CHECK(find(items, "image").state == CheckState::kOk);
  CHECK(find(items, "image-fresh").state == CheckState::kOk);
  CHECK(find(items, "image-zfs").state == CheckState::kOk);
  CHECK(find(items, "image-runtime").state == CheckState::kOk);
  if (fs::exists("/etc/hostid")) CHECK(find(items, "image-hostid").state == CheckState::kOk);
  CHECK(find(items, "root-dataset").state == CheckState::kUnknown);

  // The image of another kernel's name: fails, with the command that fixes it.
  opt.image = (t.path() / "absent.img").string();
  items = run_checks(opt, std::ref(fake));
  CHECK(find(items, "image").state == CheckState::kFail);
  CHECK(check_exit_status(items) == 1);
}
