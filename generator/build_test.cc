// build_test.cc: the whole `zinitrd build` pipeline, against fixture roots (refusals, warnings,
// nothing written on failure) and against the installed kernel (what a real image contains,
// reproducibility).
#include "build.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <utility>
#include <vector>

#include "boot_config.h"
#include "build_fixture.h"
#include "image_reader.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace zinitrd;
using namespace zinitrd::gen;
using zinitrd::gen::build_fixture::count_files;
using zinitrd::gen::build_fixture::make_module_root;
using zinitrd::gen::build_fixture::options_for;
using zinitrd::test::TempDir;

TEST_CASE("build refuses an image without zfs.ko, lists every problem, writes nothing") {
  std::string kver = test::installed_kver();
  if (kver.empty()) {
    return test::skip("no installed kernel under /lib/modules (run scripts/setup-debian.sh)");
  }
  TempDir root("zinitrd-build-root"), outdir("zinitrd-build-out");
  REQUIRE(make_module_root(root.path(), kver));
  fs::path out = outdir / "initrd.img";
  test::write_file(out, "OLD IMAGE");

  auto r = build_image(options_for(root.path(), kver, out));
  REQUIRE_FALSE(r.ok());
  const std::string& m = r.error().message;
  INFO(m);
  CHECK(m.find("nothing was written") != std::string::npos);
  CHECK(m.find("zfs") != std::string::npos);
  CHECK(m.find("dkms autoinstall -k " + kver) != std::string::npos);  // {kver} expanded
  CHECK(m.find("zpool") != std::string::npos);                        // and the missing programs,
  CHECK(m.find("mount.zfs") != std::string::npos);                    // all in the same message
  CHECK(test::slurp(out) == "OLD IMAGE");
  CHECK(count_files(outdir.path()) == 1);  // no temporary file left behind
}

TEST_CASE("build under --root warns about a missing /etc/hostid and never reads the host's") {
  std::string kver = test::installed_kver();
  if (kver.empty()) {
    return test::skip("no installed kernel under /lib/modules (run scripts/setup-debian.sh)");
  }
  TempDir root("zinitrd-build-root"), outdir("zinitrd-build-out"), features("zinitrd-features");
  REQUIRE(make_module_root(root.path(), kver));
  test::write_file(features / "hostid/feature.conf", "when = always\nhostid = yes\n");
  auto o = options_for(root.path(), kver, outdir / "img");
  o.feature_dirs.push_back(features.path().string());
  o.omit = {"zfs"};
  auto r = build_image(o);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  bool warned = std::any_of(r->warnings.begin(), r->warnings.end(), [](const std::string& w) {
    return w.find("/etc/hostid is missing") != std::string::npos &&
           w.find("zgenhostid") != std::string::npos;
  });
  CHECK(warned);
  auto members = list_image((outdir / "img").string());
  REQUIRE(members.ok());
  for (const auto& mem : *members) CHECK(mem.path != "/etc/hostid");  // the host has one
}

TEST_CASE("a real image for the installed kernel: complete, mode 0600, byte-identical twice") {
  std::string kver = test::installed_kver();
  if (test::installed_zfs_ko(kver).empty() || !fs::exists("/usr/sbin/zpool")) {
    return test::skip("zfs.ko or zpool not installed for '" + kver +
                      "' (run scripts/setup-debian.sh)");
  }
  TempDir outdir("zinitrd-build-out");
  auto o = options_for("/", kver, outdir / "a.img");
  auto a = build_image(o);
  REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.error().message));
  o.output = (outdir / "b.img").string();
  REQUIRE(build_image(o).ok());
  CHECK(test::slurp(outdir / "a.img") == test::slurp(outdir / "b.img"));
  struct stat st;
  REQUIRE(::stat((outdir / "a.img").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);

  auto members = list_image((outdir / "a.img").string());
  REQUIRE(members.ok());
  auto has = [&](std::string_view suffix) {
    return std::any_of(members->begin(), members->end(),
                       [&](const ImageMember& m) { return m.path.ends_with(suffix); });
  };
  for (const char* p : {"/updates/dkms/zfs.ko", "/updates/dkms/spl.ko", "/sbin/zpool", "/sbin/zfs",
                        "/sbin/mount.zfs", "/libzfs.so.4", "/ld-linux-x86-64.so.2", "/init",
                        "/usr/lib/zinitrd/init", "/virtio_blk.ko", "/ahci.ko", "/nvme.ko"})
    CHECK_MESSAGE(has(p), p);
  if (fs::exists("/etc/hostid")) CHECK(has("/etc/hostid"));
  // storage's kmod-exclude: network-carried storage and non-root devices stay out, real HBAs in.
  for (const char* p : {"/iscsi_tcp.ko", "/fcoe.ko", "/bnx2fc.ko", "/aoe.ko", "/zram.ko", "/st.ko"})
    CHECK_MESSAGE(!has(p), p);
  CHECK(has("/lpfc.ko"));
  // USB 1.1 hosts of add-on cards and SDIO serial ports hold no pool disk (storage's exclude).
  for (const char* p : {"/u132-hcd.ko", "/ftdi-elan.ko", "/sl811-hcd.ko", "/sdio_uart.ko"})
    CHECK_MESSAGE(!has(p), p);

  auto text = read_image_member((outdir / "a.img").string(), kBootConfigPath);
  REQUIRE(text.ok());
  auto boot = parse_boot_config(*text);
  REQUIRE(boot.ok());
  CHECK(boot->kver == kver);
  CHECK(std::find(boot->load.begin(), boot->load.end(), "zfs") != boot->load.end());
  auto pos = [&](std::string_view n) {
    for (size_t i = 0; i < boot->modules.size(); ++i)
      if (boot->modules[i].name == n) return static_cast<long>(i);
    return -1L;
  };
  CHECK(pos("spl") >= 0);
  CHECK(pos("spl") < pos("zfs"));  // dependencies first
  CHECK(boot->aliases.size() > 100);
  // Loaded by device, never at every boot: the bridges disks sit behind (VMD, Hyper-V's virtual
  // PCI bus) and what a passphrase is typed through (Hyper-V's keyboard, Intel LPSS I2C
  // controllers, the GPIO controllers of i2c-HID keyboards' interrupts, the virtio console of
  // console=hvc0), each with its aliases.
  auto aliased = [&](std::string_view module, std::string_view pattern_start) {
    return std::any_of(boot->aliases.begin(), boot->aliases.end(), [&](const BootAlias& x) {
      return x.module == module && x.pattern.starts_with(pattern_start);
    });
  };
  for (auto [module, pattern] :
       std::vector<std::pair<const char*, const char*>>{{"vmd", "pci:"},
                                                        {"pci_hyperv", "vmbus:"},
                                                        {"hyperv_keyboard", "vmbus:"},
                                                        {"intel_lpss_pci", "pci:"},
                                                        {"pinctrl_alderlake", "acpi"},
                                                        {"i2c_hid_acpi", "acpi"},
                                                        {"usbhid", "usb:"},
                                                        {"virtio_console", "virtio:"}}) {
    INFO(module);
    CHECK(aliased(module, pattern));
    CHECK(std::find(boot->load.begin(), boot->load.end(), module) == boot->load.end());
  }
}

namespace {

// A fixture root whose modules are xz-compressed as Debian 13 ships them (xz --check=crc32,
// depmod over the .ko.xz files), with kernel configuration CONFIG (none when empty), and a
// feature that loads virtio_blk. False (skipped loudly) without the installed kernel's modules.
bool make_xz_root(const fs::path& root, const fs::path& features, const std::string& kver,
                  const std::string& config) {
  if (!make_module_root(root, kver)) return false;
  fs::path mods = root / "lib/modules" / kver;
  for (const auto& e : fs::recursive_directory_iterator(mods))
    if (e.path().extension() == ".ko")
      REQUIRE(run_command({"xz", "--check=crc32", "--lzma2=dict=1MiB", e.path().string()}).ok());
  REQUIRE(run_command({"depmod", "-b", root.string(), kver}).ok());
  if (!config.empty()) test::write_file(root / ("boot/config-" + kver), config);
  test::write_file(features / "vblk/feature.conf", "when = always\nkmod = virtio_blk\n");
  return true;
}

BuildOptions xz_options(const fs::path& root, const fs::path& features, const std::string& kver,
                        const fs::path& out, DecompressModules policy) {
  auto o = options_for(root, kver, out);
  o.feature_dirs.push_back(features.string());
  o.omit = {"zfs"};
  o.decompress_modules = policy;
  return o;
}

}  // namespace

TEST_CASE("xz modules: kept for a kernel that decompresses them, or decompressed at build time") {
  std::string kver = test::installed_kver();
  if (kver.empty())
    return test::skip("no installed kernel under /lib/modules (run scripts/setup-debian.sh)");
  TempDir root("zinitrd-build-root"), outdir("zinitrd-build-out"), features("zinitrd-features");
  if (!make_xz_root(root.path(), features.path(), kver,
                    "CONFIG_MODULE_COMPRESS_XZ=y\nCONFIG_MODULE_DECOMPRESS=y\n"))
    return;
  std::string virtio_blk = "/lib/modules/" + kver + "/" + build_fixture::kVirtioBlk;
  std::string original = test::slurp("/lib/modules/" + kver + "/" + build_fixture::kVirtioBlk);

  auto module_path = [&](const fs::path& img) {
    auto text = read_image_member(img.string(), kBootConfigPath);
    REQUIRE(text.ok());
    auto boot = parse_boot_config(*text);
    REQUIRE(boot.ok());
    // Its aliases were read from the compressed file (.modinfo through zinitrd's own reader).
    CHECK(std::any_of(boot->aliases.begin(), boot->aliases.end(), [](const BootAlias& a) {
      return a.module == "virtio_blk" && a.pattern.starts_with("virtio:d00000002");
    }));
    for (const auto& m : boot->modules)
      if (m.name == "virtio_blk") return m.path;
    FAIL("virtio_blk not in the boot config");
    return std::string();
  };

  SUBCASE("yes: .ko in the image, the original bytes, the boot config names it") {
    fs::path img = outdir / "yes.img";
    auto r = build_image(
        xz_options(root.path(), features.path(), kver, img, DecompressModules::kAlways));
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    CHECK(r->module_storage == "modules: xz-compressed, decompressed at build time");
    CHECK(module_path(img) == virtio_blk);
    auto content = read_image_member(img.string(), virtio_blk);
    REQUIRE(content.ok());
    CHECK(*content == original);
    CHECK_FALSE(read_image_member(img.string(), virtio_blk + ".xz").ok());
  }
  SUBCASE("no, and auto for this kernel: .ko.xz kept as it is") {
    fs::path img = outdir / "keep.img";
    auto r =
        build_image(xz_options(root.path(), features.path(), kver, img, DecompressModules::kNever));
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    r = build_image(xz_options(root.path(), features.path(), kver, img, DecompressModules::kAuto));
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    CHECK(module_path(img) == virtio_blk + ".xz");
    auto content = read_image_member(img.string(), virtio_blk + ".xz");
    REQUIRE(content.ok());
    CHECK(*content == test::slurp(root / (virtio_blk + ".xz")));
  }
}

TEST_CASE("xz modules for a kernel that cannot decompress them: refused with the reason") {
  std::string kver = test::installed_kver();
  if (kver.empty())
    return test::skip("no installed kernel under /lib/modules (run scripts/setup-debian.sh)");
  TempDir root("zinitrd-build-root"), outdir("zinitrd-build-out"), features("zinitrd-features");
  if (!make_xz_root(root.path(), features.path(), kver,
                    "CONFIG_MODULE_COMPRESS_XZ=y\n# CONFIG_MODULE_DECOMPRESS is not set\n"))
    return;
  fs::path img = outdir / "initrd.img";
  test::write_file(img, "OLD IMAGE");
  auto r =
      build_image(xz_options(root.path(), features.path(), kver, img, DecompressModules::kNever));
  REQUIRE_FALSE(r.ok());
  INFO(r.error().message);
  CHECK(r.error().message.find("the modules of " + kver + " are xz-compressed and /boot/config-" +
                               kver + " does not set CONFIG_MODULE_DECOMPRESS") !=
        std::string::npos);
  CHECK(r.error().message.find("--decompress-modules=auto") != std::string::npos);
  CHECK(test::slurp(img) == "OLD IMAGE");

  // The default decompresses them, and says why.
  auto a =
      build_image(xz_options(root.path(), features.path(), kver, img, DecompressModules::kAuto));
  REQUIRE_MESSAGE(a.ok(), (a.ok() ? "" : a.error().message));
  CHECK(a->module_storage.find("does not set CONFIG_MODULE_DECOMPRESS") != std::string::npos);
}
