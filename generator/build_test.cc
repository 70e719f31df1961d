// build_test.cc: the whole `zinitrd build` pipeline, against fixture roots (refusals, warnings,
// nothing written on failure) and against the installed kernel (what a real image contains,
// reproducibility).
#include "build.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

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
}
