// kmod_closure_test.cc: the module closure against a fixture root built from real .ko files of
// the installed kernel (copied with their dependencies, indexed by `depmod -b`), and against the
// installed kernel itself (storage drivers + zfs, when DKMS has built it).
#include "kmod_closure.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "features.h"
#include "process.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace zinitrd;
using namespace zinitrd::gen;

namespace {

using test::slurp;
using test::TempDir;
using test::write_file;

// The newest installed Debian kernel (6.1.0-*-amd64) with a modules.dep, or "": the tests rely
// on Debian's configuration (i8042 built in, loop a module) and on its release format.
std::string debian_kver() {
  std::vector<std::string> all = test::installed_module_kvers();
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->starts_with("6.1.0-") && it->ends_with("-amd64")) return *it;
  return "";
}

// ROOT/lib/modules/KVER with the named modules (paths relative to the installed modules dir) and
// everything they depend on per the installed modules.dep, then `depmod -b ROOT KVER`.
struct Fixture {
  TempDir dir{"zinitrd-kmod"};
  std::string kver = debian_kver();
  fs::path src = fs::path("/lib/modules") / kver;
  fs::path mods = dir / "lib/modules" / kver;

  void copy_with_deps(const std::vector<std::string>& wanted) {
    std::map<std::string, std::vector<std::string>> dep;
    std::istringstream in(slurp(src / "modules.dep"));
    for (std::string line; std::getline(in, line);) {
      auto colon = line.find(':');
      std::istringstream words(line.substr(colon + 1));
      auto& v = dep[line.substr(0, colon)];
      for (std::string w; words >> w;) v.push_back(w);
    }
    std::vector<std::string> todo = wanted;
    while (!todo.empty()) {
      std::string rel = todo.back();
      todo.pop_back();
      if (fs::exists(mods / rel)) continue;
      fs::create_directories((mods / rel).parent_path());
      fs::copy_file(src / rel, mods / rel);
      for (const auto& d : dep[rel]) todo.push_back(d);
    }
  }
  void finish() {
    for (const char* f : {"modules.builtin", "modules.builtin.modinfo", "modules.order"})
      if (fs::exists(src / f)) fs::copy_file(src / f, mods / f);
    REQUIRE_MESSAGE(run_command({"depmod", "-b", dir.path().string(), kver}).ok(), "depmod");
  }
};

size_t index_of(const ModuleClosure& c, std::string_view name) {
  for (size_t i = 0; i < c.modules.size(); ++i)
    if (c.modules[i].name == name) return i;
  FAIL("module " << name << " not in the closure");
  return 0;
}

bool any_contains(const std::vector<std::string>& v, std::string_view a, std::string_view b = {}) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& s) {
    return s.find(a) != std::string::npos && s.find(b) != std::string::npos;
  });
}

}  // namespace

TEST_CASE("kmod closure: fixture root") {
  Fixture fx;
  if (fx.kver.empty()) {
    return test::skip(
        "no Debian 6.1.0-*-amd64 kernel in /lib/modules to take fixture modules from (run "
        "scripts/setup-debian.sh)");
  }
  const std::string& kver = fx.kver;
  fx.copy_with_deps({"kernel/drivers/block/virtio_blk.ko", "kernel/drivers/virtio/virtio_pci.ko",
                     "kernel/drivers/ata/ahci.ko", "kernel/drivers/scsi/sd_mod.ko",
                     "kernel/drivers/scsi/qla1280.ko", "kernel/drivers/net/dummy.ko",
                     "kernel/arch/x86/crypto/crct10dif-pclmul.ko",
                     "kernel/crypto/crct10dif_generic.ko"});
  // loop.ko, claiming to be built for another kernel (same length, so .modinfo stays valid).
  std::string other = kver;
  {
    std::string ko = slurp(fx.src / "kernel/drivers/block/loop.ko");
    std::string from = "vermagic=" + kver + " ";
    other.replace(6, other.find('-', 6) - 6, std::string(other.find('-', 6) - 6, '0'));
    size_t at = ko.find(from);
    REQUIRE(at != std::string::npos);
    ko.replace(at, from.size(), "vermagic=" + other + " ");
    write_file(fx.mods / "kernel/drivers/block/loop.ko", ko);
  }
  fx.finish();
  const fs::path root = fx.dir.path();
  // modprobe.d: /etc wins over /lib for the same file name; other files add up.
  write_file(root / "etc/modprobe.d/test.conf",
             "options virtio_blk queue_depth=64\n"
             "softdep virtio_blk pre: zinitrd_no_such_module post: dummy\n"
             "softdep ahci pre: dummy\n"
             "blacklist qla1280\n"
             "blacklist zinitrd-other-driver\n");
  write_file(root / "lib/modprobe.d/test.conf", "options virtio_blk queue_depth=1\n");
  write_file(root / "lib/modprobe.d/other.conf", "options sd_mod zinitrd_from_lib=1\n");
  // Firmware of qla1280: one compressed, one in updates/, the third absent.
  write_file(root / "lib/firmware/qlogic/1280.bin.xz", "x");
  write_file(root / "lib/firmware/updates/qlogic/1040.bin", "x");

  RootFs rootfs(root.string());
  auto kc = KmodClosure::open(rootfs, kver);
  REQUIRE_MESSAGE(kc.ok(), (kc.ok() ? "" : kc.error().message));
  (*kc)->request({"virtio_blk", true, true, "test", ""});
  (*kc)->request({"ahci", true, true, "test", ""});
  (*kc)->request({"virtio:d00000002v00001AF4", true, true, "test", ""});  // alias of virtio_blk
  (*kc)->request({"zinitrd_missing_mod", true, true, "zfs", "run `dkms autoinstall -k {kver}`"});
  (*kc)->request({"zinitrd_optional_mod", false, true, "test", ""});
  (*kc)->request({"i8042", true, true, "test", ""});  // built into Debian's kernel
  (*kc)->request({"loop", true, true, "test", "rebuild it for {kver}"});
  (*kc)->request_directory("kernel/drivers/scsi/", "storage");
  (*kc)->request_directory("kernel/drivers/zinitrd-nonexistent/", "storage");
  ModuleClosure c = (*kc)->resolve();

  SUBCASE("every missing module in one list, with its hint and {kver} expanded") {
    REQUIRE(c.missing.size() == 2);
    CHECK(any_contains(c.missing, "zinitrd_missing_mod", "run `dkms autoinstall -k " + kver + "`"));
    std::string loop_path = "/lib/modules/" + kver + "/kernel/drivers/block/loop.ko";
    CHECK(any_contains(c.missing,
                       "loop.ko (" + loop_path + ") was built for " + other + ", not " + kver,
                       "rebuild it for " + kver));
  }
  SUBCASE("warnings: optional module, missing softdep, missing directory, absent firmware") {
    CHECK(any_contains(c.warnings, "zinitrd_optional_mod"));
    CHECK(any_contains(c.warnings, "zinitrd_no_such_module", "virtio_blk"));
    CHECK(any_contains(c.warnings, "zinitrd-nonexistent"));
    CHECK(
        any_contains(c.warnings, "qla1280", "lack their firmware"));  // coldplug: one summary line
    CHECK_FALSE(any_contains(c.warnings, "qla1280", "qlogic/1280.bin"));
  }
  SUBCASE("built-in modules are listed, not errors") {
    CHECK(c.builtin == std::vector<std::string>{"i8042"});
  }
  SUBCASE("dependencies first, deterministic") {
    for (size_t i = 0; i < c.modules.size(); ++i)
      for (const auto& d : c.modules[i].deps) {
        INFO(c.modules[i].name << " needs " << d);
        CHECK(index_of(c, d) < i);
      }
    CHECK(index_of(c, "virtio") < index_of(c, "virtio_blk"));
    CHECK(index_of(c, "libata") < index_of(c, "ahci"));
    CHECK(index_of(c, "dummy") < index_of(c, "ahci"));  // softdep pre: loaded first
    const BootModule& vb = c.modules[index_of(c, "virtio_blk")];
    CHECK(std::find(vb.deps.begin(), vb.deps.end(), "virtio_ring") != vb.deps.end());
    CHECK(std::find(vb.deps.begin(), vb.deps.end(), "dummy") == vb.deps.end());  // post: only
    CHECK(vb.post == std::vector<std::string>{"dummy"});
    CHECK(vb.pre.empty());  // its pre: softdep does not exist
    const BootModule& ahci = c.modules[index_of(c, "ahci")];
    // Softdeps are kept apart from hard dependencies: at boot they may fail.
    CHECK(std::find(ahci.deps.begin(), ahci.deps.end(), "dummy") == ahci.deps.end());
    CHECK(ahci.pre == std::vector<std::string>{"dummy"});
    // The kernel's own softdep (modules.softdep): crc_t10dif pre: crct10dif, an alias of the
    // PCLMULQDQ variant and the generic one; sd_mod reaches crc_t10dif through t10_pi.
    const BootModule& crc = c.modules[index_of(c, "crc_t10dif")];
    CHECK(crc.deps == std::vector<std::string>{"crct10dif_common"});
    CHECK(std::find(crc.pre.begin(), crc.pre.end(), "crct10dif_pclmul") != crc.pre.end());
    CHECK(std::find(crc.pre.begin(), crc.pre.end(), "crct10dif_generic") != crc.pre.end());
    CHECK(index_of(c, "crct10dif_pclmul") < index_of(c, "crc_t10dif"));
    CHECK(index_of(c, "crc_t10dif") < index_of(c, "t10_pi"));
    CHECK(index_of(c, "t10_pi") < index_of(c, "sd_mod"));
    CHECK(vb.path == "/lib/modules/" + kver + "/kernel/drivers/block/virtio_blk.ko");
    // Same inputs, same closure.
    auto again = KmodClosure::open(rootfs, kver);
    REQUIRE(again.ok());
    (*again)->request({"ahci", true, true, "test", ""});
    (*again)->request({"virtio_blk", true, true, "test", ""});
    (*again)->request_directory("kernel/drivers/scsi", "storage");
    ModuleClosure c2 = (*again)->resolve();
    std::vector<std::string> n1, n2;
    for (const auto& m : c.modules)
      if (m.name != "loop") n1.push_back(m.name);
    for (const auto& m : c2.modules) n2.push_back(m.name);
    CHECK(n1 == n2);
  }
  SUBCASE("load list: requested modules in request order, once; coldplug and broken ones not") {
    CHECK(c.load == std::vector<std::string>{"virtio_blk", "ahci"});
    index_of(c, "sd_mod");  // from the directory request
    index_of(c, "qla1280");
    CHECK(
        std::none_of(c.modules.begin(), c.modules.end(), [](auto& m) { return m.name == "loop"; }));
  }
  SUBCASE("options from ROOT's modprobe.d only, /etc overriding /lib") {
    CHECK(c.modules[index_of(c, "virtio_blk")].options == "queue_depth=64");
    CHECK(c.modules[index_of(c, "sd_mod")].options == "zinitrd_from_lib=1");
    // The host's Debian /lib/modprobe.d/aliases.conf says "options dummy numdummies=0".
    CHECK(c.modules[index_of(c, "dummy")].options == "");
  }
  SUBCASE("alias table of the included modules") {
    REQUIRE_FALSE(c.aliases.empty());
    CHECK(std::any_of(c.aliases.begin(), c.aliases.end(), [](const BootAlias& a) {
      return a.module == "virtio_blk" && a.pattern.starts_with("virtio:d00000002v");
    }));
    CHECK(std::any_of(c.aliases.begin(), c.aliases.end(),
                      [](const BootAlias& a) { return a.module == "sd_mod"; }));
  }
  SUBCASE("files: in-root .ko paths and firmware, sorted, unique") {
    CHECK(std::is_sorted(c.files.begin(), c.files.end()));
    CHECK(std::adjacent_find(c.files.begin(), c.files.end()) == c.files.end());
    std::string m = "/lib/modules/" + kver + "/kernel/drivers/";
    CHECK(std::binary_search(c.files.begin(), c.files.end(), m + "block/virtio_blk.ko"));
    CHECK(std::binary_search(c.files.begin(), c.files.end(), m + "scsi/scsi_mod.ko"));
    CHECK_FALSE(std::binary_search(c.files.begin(), c.files.end(), m + "block/loop.ko"));
    CHECK(std::binary_search(c.files.begin(), c.files.end(), "/lib/firmware/qlogic/1280.bin.xz"));
    CHECK(std::binary_search(c.files.begin(), c.files.end(),
                             "/lib/firmware/updates/qlogic/1040.bin"));
    CHECK(c.files.size() == c.modules.size() + 2);
  }
  SUBCASE("modprobe.d blacklist lines reach the boot config, the host's command line does not") {
    CHECK(c.blacklist == std::vector<std::string>{"qla1280", "zinitrd_other_driver"});
  }
}

TEST_CASE("kmod closure: open errors name the fix") {
  TempDir dir("zinitrd-kmod");
  RootFs root(dir.path().string());
  auto none = KmodClosure::open(root, "6.1.0-99-amd64");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message.find("6.1.0-99-amd64") != std::string::npos);
  fs::create_directories(dir / "lib/modules/6.1.0-99-amd64/kernel");
  auto nodep = KmodClosure::open(root, "6.1.0-99-amd64");
  REQUIRE_FALSE(nodep.ok());
  CHECK(nodep.error().message.find("depmod") != std::string::npos);
}

TEST_CASE("kmod closure: installed kernel, storage + zfs") {
  std::string kver = debian_kver();
  if (kver.empty()) {
    return test::skip(
        "no Debian 6.1.0-*-amd64 kernel installed in /lib/modules (run scripts/setup-debian.sh)");
  }
  bool have_zfs = !test::installed_zfs_ko(kver).empty();
  // The requests of the repo's own features, as the build does.
  auto features = load_features({ZINITRD_SOURCE_DIR "/modules.d"}, RootFs("/nonexistent"));
  REQUIRE_MESSAGE(features.ok(), (features.ok() ? "" : features.error().message));
  RootFs root("/");
  auto t0 = std::chrono::steady_clock::now();
  auto kc = KmodClosure::open(root, kver);
  REQUIRE_MESSAGE(kc.ok(), (kc.ok() ? "" : kc.error().message));
  for (const Feature& f : *features) {
    if (f.name == "zfs" && !have_zfs) continue;
    if (f.name != "base" && f.name != "storage" && f.name != "keyboard" && f.name != "zfs")
      continue;  // luks: dm_mod
    for (const auto& e : f.kmods_exclude) (*kc)->exclude(e);
    for (const auto& e : f.kmods_exclude_needing) (*kc)->exclude_needing(e);
    for (const auto& m : f.kmods) (*kc)->request({m, true, true, f.name, f.kmod_hint});
    for (const auto& m : f.kmods_optional) (*kc)->request({m, false, true, f.name, ""});
    for (const auto& m : f.kmods_coldplug) {
      if (m.ends_with('/'))
        (*kc)->request_directory(m, f.name);
      else
        (*kc)->request({m, false, false, f.name, ""});
    }
  }
  ModuleClosure c = (*kc)->resolve();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uintmax_t bytes = 0;
  for (const auto& m : c.modules) bytes += fs::file_size(m.path);
  MESSAGE("installed " << kver << std::string(have_zfs ? " storage+zfs" : " storage") << ": "
                       << c.modules.size() << " modules, " << bytes / 1024 << " KiB, "
                       << c.aliases.size() << " aliases, " << c.files.size() << " files, "
                       << c.warnings.size() << " warnings, resolved in " << secs * 1000 << " ms");
  for (const auto& m : c.missing) MESSAGE("missing: " << m);
  CHECK(c.missing.empty());
  CHECK(c.modules.size() > 200);
  for (const char* m : {"virtio_blk", "virtio_pci", "virtio_scsi", "ahci", "nvme", "sd_mod",
                        "usb_storage", "xhci_pci", "usbhid", "lpfc", "qla2xxx"})
    index_of(c, m);
  // Left out by what they need (storage's kmod-exclude-needing): FCoE offload on a NIC, NVMe
  // over RDMA, FC target mode, and with them the stacks; md/dm is no longer carried.
  for (const char* m : {"csiostor", "cxgb4", "nvme_rdma", "ib_core", "tcm_qla2xxx",
                        "target_core_mod", "md_cluster", "dlm", "dm_mod"}) {
    bool found = std::any_of(c.modules.begin(), c.modules.end(),
                             [&](const BootModule& b) { return b.name == m; });
    CHECK_MESSAGE(!found, std::string(m) << " should have been left out");
  }
  if (have_zfs) {
    CHECK(std::find(c.load.begin(), c.load.end(), "zfs") != c.load.end());
    size_t zfs = index_of(c, "zfs");
    for (const char* dep :
         {"spl", "znvpair", "zcommon", "zunicode", "zavl", "icp", "zlua", "zzstd"})
      CHECK(index_of(c, dep) < zfs);
  } else {
    test::skip("zfs part: /lib/modules/" + kver +
               "/updates/dkms/zfs.ko does not exist (run scripts/setup-debian.sh); only the "
               "storage part ran");
  }
}
