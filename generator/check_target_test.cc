// check_target_test.cc: `zinitrd check --root TARGET`, an installer's target judged from its own
// files (its DKMS tree, its dpkg database, its kernel configuration), and the image-modules item.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "check.h"
#include "process.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace zinitrd;
using namespace zinitrd::gen;
using test::TempDir;
using test::write_file;

namespace {

CheckItem find(const std::vector<CheckItem>& items, std::string_view id) {
  for (const auto& i : items)
    if (i.id == id) return i;
  FAIL("no item " << id);
  return {};
}

ImageMember member(std::string path) {
  ImageMember m;
  m.path = std::move(path);
  m.mode = S_IFREG | 0644;
  return m;
}

// Two paragraphs of a dpkg status database as Debian 13 writes them.
constexpr const char* kDpkgStatus =
    "Package: zfs-dkms\nStatus: install ok installed\nPriority: optional\nSection: contrib/kernel\n"
    "Architecture: all\nSource: zfs-linux\nVersion: 2.3.2-2\n\n"
    "Package: zfsutils-linux\nStatus: install ok installed\nArchitecture: amd64\n"
    "Source: zfs-linux\nVersion: 2.3.2-2\nDescription: command-line tools to manage OpenZFS\n"
    " multi-line description\n\n"
    "Package: zfs-zed\nStatus: deinstall ok config-files\nVersion: 2.1.11-1\n";

}  // namespace

TEST_CASE("dpkg status: the installed version of a package, nothing for removed ones") {
  CHECK(parse_dpkg_version(kDpkgStatus, "zfsutils-linux") == "2.3.2-2");
  CHECK(parse_dpkg_version(kDpkgStatus, "zfs-dkms") == "2.3.2-2");
  CHECK(parse_dpkg_version(kDpkgStatus, "zfs-zed").empty());  // only its configuration is left
  CHECK(parse_dpkg_version(kDpkgStatus, "zfs").empty());
  CHECK(parse_dpkg_version("Package: zfsutils-linux\nStatus: install ok installed\nVersion: 1",
                           "zfsutils-linux") == "1");  // last paragraph without a blank line
}

TEST_CASE("DKMS state read from a target's tree (dkms 3 layout)") {
  TempDir t("zinitrd-dkms-tree");
  RootFs root(t.path().string());
  const std::string k = "6.12.57+deb13-amd64";
  CHECK_FALSE(dkms_status_in_root(root, k).has_value());  // no DKMS at all
  fs::create_directories(t / "var/lib/dkms/zfs/2.3.2/source");
  CHECK(*dkms_status_in_root(root, k) == "");  // added, built for no kernel
  fs::create_directories(t / ("var/lib/dkms/zfs/2.3.2/" + k + "/x86_64/module"));
  CHECK(*dkms_status_in_root(root, k) == "zfs/2.3.2, " + k + ", x86_64: built\n");
  test::write_symlink(t / ("var/lib/dkms/zfs/kernel-" + k + "-x86_64"), "2.3.2/" + k + "/x86_64");
  std::string status = *dkms_status_in_root(root, k);
  CHECK(status == "zfs/2.3.2, " + k + ", x86_64: installed\n");
  CHECK(parse_dkms_state(status, "zfs", k) == "installed");
  CHECK(*dkms_status_in_root(root, "6.1.0-28-amd64") == "");  // another kernel
}

TEST_CASE("image-modules: compressed modules only for a kernel that decompresses them") {
  ImageFacts img;
  img.exists = true;
  img.members = {member("/init"),
                 member("/usr/lib/zinitrd/init"),
                 member("/usr/lib/modules/K/updates/dkms/zfs.ko.xz"),
                 member("/usr/lib/modules/K/updates/dkms/spl.ko.xz"),
                 member("/usr/lib/modules/K/kernel/drivers/block/virtio_blk.ko"),
                 member("/usr/lib/modules/K/modules.order")};
  img.kernel = parse_kernel_config("CONFIG_MODULE_COMPRESS_XZ=y\nCONFIG_MODULE_DECOMPRESS=y\n",
                                   "/boot/config-K");
  auto ok = find(check_image("K", img), "image-modules");
  CHECK(ok.state == CheckState::kOk);
  CHECK(ok.detail == "modules 1 uncompressed, 2 xz-compressed: K loads them");

  img.kernel = parse_kernel_config("CONFIG_MODULE_COMPRESS_XZ=y\n", "/boot/config-K");
  auto bad = find(check_image("K", img), "image-modules");
  CHECK(bad.state == CheckState::kFail);
  CHECK(bad.detail ==
        "modules 2 xz-compressed (/usr/lib/modules/K/updates/dkms/zfs.ko.xz) cannot be loaded: "
        "/boot/config-K has no CONFIG_MODULE_DECOMPRESS");
  CHECK(bad.fix.find("zinitrd build --kver K") != std::string::npos);

  img.kernel = {};
  CHECK(find(check_image("K", img), "image-modules").detail.find("no /boot/config-K") !=
        std::string::npos);
}

TEST_CASE("check --root: a target's DKMS, userland and compressed zfs.ko, never the host's") {
  std::string kver = test::installed_kver();
  std::string zfs_ko = test::installed_zfs_ko(kver);
  if (zfs_ko.empty())
    return test::skip("zfs.ko is not built for '" + kver + "' (run scripts/setup-debian.sh)");
  TempDir t("zinitrd-check-target");
  // The target: zfs.ko (and spl.ko) xz-compressed as Debian 13's DKMS leaves them, indexed.
  fs::path mods = t / ("lib/modules/" + kver);
  fs::path src = fs::path(zfs_ko).parent_path();
  for (const auto& e : fs::directory_iterator(src)) {
    if (e.path().extension() != ".ko") continue;
    fs::create_directories(mods / "updates/dkms");
    fs::copy_file(e.path(), mods / "updates/dkms" / e.path().filename());
    REQUIRE(
        run_command({"xz", "--check=crc32", (mods / "updates/dkms" / e.path().filename())}).ok());
  }
  for (const char* f : {"modules.builtin", "modules.builtin.modinfo", "modules.order"})
    if (fs::exists(fs::path("/lib/modules") / kver / f))
      fs::copy_file(fs::path("/lib/modules") / kver / f, mods / f);
  REQUIRE(run_command({"depmod", "-b", t.path().string(), kver}).ok());
  std::string version = run_command({"modinfo", "-F", "version", zfs_ko}).out;
  version = version.substr(0, version.find('\n'));
  write_file(t / "var/lib/dpkg/status",
             "Package: zfsutils-linux\nStatus: install ok installed\nVersion: " + version + "\n");
  fs::create_directories(t / ("var/lib/dkms/zfs/" + version + "/" + kver + "/x86_64"));
  test::write_symlink(t / ("var/lib/dkms/zfs/kernel-" + kver + "-x86_64"),
                      version + "/" + kver + "/x86_64");
  write_file(t / "etc/os-release", "ID=debian\n");

  struct Runner {
    std::vector<std::string> calls;
    CommandOutput operator()(const std::vector<std::string>& argv) {
      calls.push_back(argv[0] + (argv.size() > 1 ? " " + argv[1] : ""));
      return CommandOutput{false, 127, ""};
    }
  } runner;
  CheckOptions opt;
  opt.root = t.path().string();
  opt.target = true;
  opt.kver = kver;
  auto items = run_checks(opt, std::ref(runner));
  auto module = find(items, "zfs-module");
  CHECK_MESSAGE(module.state == CheckState::kOk, module.detail);
  CHECK(module.detail.find("zfs.ko.xz") != std::string::npos);
  CHECK(find(items, "dkms").state == CheckState::kOk);
  CHECK(find(items, "dkms").detail == "zfs for " + kver + ": installed");
  auto versions = find(items, "zfs-version");
  CHECK_MESSAGE(versions.state == CheckState::kOk, versions.detail);
  CHECK(find(items, "image").detail == "no image at " + (t / "boot/initrd.img-").string() + kver);
  // The host's dkms, zfs and package tools were never asked.
  for (const auto& c : runner.calls) {
    CHECK(c != "dkms status");
    CHECK(c != "zfs version");
    CHECK(c.rfind("dpkg-query", 0) != 0);
  }
}
