// resume_config_test.cc: RESUME= as Debian's installer writes it for initramfs-tools, and the
// image's boot config carrying it.
#include "resume_config.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "boot_config.h"
#include "build.h"
#include "build_fixture.h"
#include "image_reader.h"
#include "test_support.h"

using namespace zinitrd::gen;
using namespace zinitrd::gen::build_fixture;
namespace test = zinitrd::test;

TEST_CASE("RESUME=: the last assignment, unquoted, and none or empty is no resume device") {
  CHECK(parse_resume_setting("RESUME=UUID=1b4e28ba-2fa1-11d2-883f-0016d3cc427e\n") ==
        "UUID=1b4e28ba-2fa1-11d2-883f-0016d3cc427e");
  CHECK(parse_resume_setting("# RESUME=/dev/sda9\nRESUME=\"/dev/sda2\"\n") == "/dev/sda2");
  CHECK(parse_resume_setting("RESUME=/dev/sda2\nRESUME=none\n") == std::nullopt);
  CHECK(parse_resume_setting("RESUME=\n") == std::nullopt);
  CHECK(parse_resume_setting("") == std::nullopt);
  CHECK(parse_resume_setting("RESUME=auto") == "auto");
}

TEST_CASE("build: initramfs-tools' RESUME= of the root goes into the boot config") {
  std::string kver = test::installed_kver();
  if (kver.empty())
    return test::skip("no installed kernel under /lib/modules (run scripts/setup-debian.sh)");
  test::TempDir root("zinitrd-resume-root"), out("zinitrd-resume-out"), features("zinitrd-f");
  if (!make_module_root(root.path(), kver)) return;
  test::write_file(features.path() / "vblk/feature.conf", "when = always\nkmod = virtio_blk\n");
  auto build = [&](const std::string& conf) {
    test::write_file(root.path() / "etc/initramfs-tools/conf.d/resume", conf);
    auto o = options_for(root.path(), kver, out.path() / "img");
    o.feature_dirs.push_back(features.path().string());
    o.omit = {"zfs"};
    auto r = build_image(o);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    auto text = read_image_member(o.output, zinitrd::kBootConfigPath);
    REQUIRE(text.ok());
    auto boot = zinitrd::parse_boot_config(*text);
    REQUIRE(boot.ok());
    return std::make_pair(boot->setting("resume"), r->warnings);
  };
  auto [resume, warnings] = build("RESUME=UUID=1b4e28ba-2fa1-11d2-883f-0016d3cc427e\n");
  CHECK(resume == "UUID=1b4e28ba-2fa1-11d2-883f-0016d3cc427e");
  auto [automatic, auto_warnings] = build("RESUME=auto\n");
  CHECK(automatic.empty());
  CHECK(std::any_of(auto_warnings.begin(), auto_warnings.end(), [](const std::string& w) {
    return w.find("RESUME=auto") != std::string::npos;
  }));
}
