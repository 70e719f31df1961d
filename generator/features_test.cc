// features_test.cc: feature.conf parsing (errors with file:line), load order and overrides,
// planning (dependency order, exists:, --add/--omit errors), and the repo's own modules.d.
#include "features.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "test_support.h"

namespace fs = std::filesystem;
using namespace zinitrd;
using namespace zinitrd::gen;
using zinitrd::test::TempDir;
using zinitrd::test::write_file;

namespace {

Feature make(std::string name, Feature::When when, std::vector<std::string> requires_ = {},
             std::string when_path = {}) {
  Feature f;
  f.name = std::move(name);
  f.dir = "modules.d/" + f.name;
  f.when = when;
  f.requires_ = std::move(requires_);
  f.when_path = std::move(when_path);
  return f;
}

std::vector<std::string> names(const std::vector<const Feature*>& v) {
  std::vector<std::string> out;
  for (const Feature* f : v) out.push_back(f->name);
  return out;
}

}  // namespace

TEST_CASE("feature parse: every key") {
  auto f = parse_feature("zfs", "modules.d/zfs",
                         "# comment\n"
                         "description = ZFS   root\n"
                         "when = exists:/etc/zfs\n"
                         "requires = base storage\n"
                         "requires = crypt  # trailing comment\n"
                         "kmod = zfs\n"
                         "kmod-optional = zram\n"
                         "kmod-coldplug = kernel/drivers/ata/ sd_mod\n"
                         "kmod-hint = run `dkms autoinstall -k {kver}`\n"
                         "\n"
                         "program = zpool zfs\n"
                         "program-optional = zdb\n"
                         "library = libz.so.1\n"
                         "library-optional = libgcc_s.so.1\n"
                         "file = /etc/a /etc/b:/etc/c\n"
                         "file-optional = /etc/zfs/zpool.cache\n"
                         "hostid = yes\n"
                         "set = rescue_shell=/bin/busybox sh -l\n"
                         "set = x=1=2\n");
  REQUIRE_MESSAGE(f.ok(), (f.ok() ? "" : f.error().message));
  CHECK(f->name == "zfs");
  CHECK(f->dir == "modules.d/zfs");
  CHECK(f->description == "ZFS   root");
  CHECK(f->when == Feature::When::kIfExists);
  CHECK(f->when_path == "/etc/zfs");
  CHECK(f->requires_ == std::vector<std::string>{"base", "storage", "crypt"});
  CHECK(f->kmods == std::vector<std::string>{"zfs"});
  CHECK(f->kmods_optional == std::vector<std::string>{"zram"});
  CHECK(f->kmods_coldplug == std::vector<std::string>{"kernel/drivers/ata/", "sd_mod"});
  CHECK(f->kmod_hint == "run `dkms autoinstall -k {kver}`");
  CHECK(f->programs == std::vector<std::string>{"zpool", "zfs"});
  CHECK(f->programs_optional == std::vector<std::string>{"zdb"});
  CHECK(f->libraries == std::vector<std::string>{"libz.so.1"});
  CHECK(f->libraries_optional == std::vector<std::string>{"libgcc_s.so.1"});
  CHECK(f->files == std::vector<std::string>{"/etc/a", "/etc/b:/etc/c"});
  CHECK(f->files_optional == std::vector<std::string>{"/etc/zfs/zpool.cache"});
  CHECK(f->hostid);
  CHECK(f->settings.at("rescue_shell") == "/bin/busybox sh -l");
  CHECK(f->settings.at("x") == "1=2");
  auto d = parse_feature("x", "d", "");
  REQUIRE(d.ok());
  CHECK(d->when == Feature::When::kOnRequest);
  CHECK_FALSE(d->hostid);
}

TEST_CASE("feature parse: errors name file and line") {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"when = always\n# c\n\nkmod = zfs\nprogram = zpool\n\nkmods = zfs\n",
       "modules.d/zfs/feature.conf:7: unknown key 'kmods'"},
      {"kmod zfs\n", "modules.d/zfs/feature.conf:1: expected 'key = value'"},
      {"\nkmod =\n", "modules.d/zfs/feature.conf:2: key 'kmod' has no value"},
      {"when = sometimes\n", "modules.d/zfs/feature.conf:1: 'when' must be"},
      {"when = exists:relative\n", "modules.d/zfs/feature.conf:1: 'when' must be"},
      {"hostid = maybe\n", "modules.d/zfs/feature.conf:1: 'hostid' must be yes or no"},
      {"when = has-entries:etc/crypttab\n", "modules.d/zfs/feature.conf:1: 'when' must be"},
      {"crypttab = maybe\n", "modules.d/zfs/feature.conf:1: 'crypttab' must be yes or no"},
      {"set = novalue\n", "modules.d/zfs/feature.conf:1: 'set' needs KEY=VALUE"},
      {"= x\n", "modules.d/zfs/feature.conf:1: missing key"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto f = parse_feature("zfs", "modules.d/zfs", c.text);
    REQUIRE_FALSE(f.ok());
    CHECK(f.error().message.starts_with(c.error));
  }
}

TEST_CASE("feature load: later directories replace, folders without feature.conf skipped") {
  TempDir t("zinitrd-feat");
  write_file(t / "a/base/feature.conf", "description = builtin base\nwhen = always\n");
  write_file(t / "a/zfs/feature.conf", "requires = base\n");
  write_file(t / "a/notes/README", "not a feature\n");
  write_file(t / "b/base/feature.conf", "description = local base\n");
  const RootFs no_root((t / "no-root").string());
  auto all =
      load_features({(t / "a").string(), (t / "missing").string(), (t / "b").string()}, no_root);
  REQUIRE_MESSAGE(all.ok(), (all.ok() ? "" : all.error().message));
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "base");
  CHECK((*all)[0].description == "local base");
  CHECK((*all)[0].when == Feature::When::kOnRequest);
  CHECK((*all)[0].dir == (t / "b/base").string());
  CHECK((*all)[1].name == "zfs");

  write_file(t / "b/bad/feature.conf", "when = always\nfoo = bar\n");
  auto bad = load_features({(t / "a").string(), (t / "b").string()}, no_root);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == (t / "b/bad/feature.conf").string() + ":2: unknown key 'foo'");
}

TEST_CASE("feature load: the root's own features come last, read inside the root only") {
  TempDir t("zinitrd-feat"), host("zinitrd-feat-host");
  write_file(t / "builtin/base/feature.conf", "description = builtin base\n");
  write_file(t / "root/etc/zinitrd/modules.d/base/feature.conf", "description = root's base\n");
  // Absolute links in the root name folders that exist on the host (HOST stands for it): inside
  // the root they lead to the root's copy, or nowhere.
  write_file(host / "spy/feature.conf", "description = the host's\n");
  write_file(host / "own/feature.conf", "description = the host's\n");
  write_file(t / ("root" + (host / "own/feature.conf").string()), "description = root's own\n");
  test::write_symlink(t / "root/etc/zinitrd/modules.d/spy", (host / "spy").string());
  test::write_symlink(t / "root/etc/zinitrd/modules.d/own", (host / "own").string());
  auto all = load_features({(t / "builtin").string()}, RootFs((t / "root").string()));
  REQUIRE_MESSAGE(all.ok(), (all.ok() ? "" : all.error().message));
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "base");
  CHECK((*all)[0].description == "root's base");
  CHECK((*all)[1].name == "own");
  CHECK((*all)[1].description == "root's own");
}

TEST_CASE("feature plan: order, conditions, add, omit") {
  TempDir t("zinitrd-feat");
  write_file(t / "etc/crypttab", "");
  RootFs root(t.path().string());
  std::vector<Feature> all = {
      make("base", Feature::When::kAlways),
      make("crypt", Feature::When::kIfExists, {"base"}, "/etc/crypttab"),
      make("net", Feature::When::kIfExists, {}, "/etc/zinitrd-no-such-file"),
      make("storage", Feature::When::kAlways),
      make("zfs", Feature::When::kAlways, {"storage", "base"}),
      make("debug", Feature::When::kOnRequest, {"base"}),
  };

  SUBCASE("applicable features, requirements first, deterministic") {
    auto p = plan_features(all, {}, {}, root);
    REQUIRE(p.ok());
    CHECK(names(*p) == std::vector<std::string>{"base", "crypt", "storage", "zfs"});
    // Order of `all` does not matter.
    std::vector<Feature> rev(all.rbegin(), all.rend());
    auto p2 = plan_features(rev, {}, {}, root);
    REQUIRE(p2.ok());
    CHECK(names(*p2) == names(*p));
  }
  SUBCASE("requirements come first even when named later") {
    std::vector<Feature> v = {make("a", Feature::When::kAlways, {"c"}),
                              make("b", Feature::When::kOnRequest),
                              make("c", Feature::When::kOnRequest, {"b"})};
    auto p = plan_features(v, {}, {}, root);
    REQUIRE(p.ok());
    CHECK(names(*p) == std::vector<std::string>{"b", "c", "a"});
  }
  SUBCASE("--add and --omit") {
    auto p = plan_features(all, {"debug"}, {"crypt"}, root);
    REQUIRE(p.ok());
    CHECK(names(*p) == std::vector<std::string>{"base", "storage", "zfs", "debug"});
  }
  SUBCASE("omitting a required feature is an error naming both") {
    auto p = plan_features(all, {}, {"storage"}, root);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message.find("cannot omit feature 'storage'") != std::string::npos);
    CHECK(p.error().message.find("'zfs'") != std::string::npos);
  }
  SUBCASE("unknown features") {
    auto a = plan_features(all, {"nfs"}, {}, root);
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().message.starts_with("unknown feature 'nfs' (--add)"));
    CHECK(a.error().message.find("zfs") != std::string::npos);  // lists what exists
    auto o = plan_features(all, {}, {"nfs"}, root);
    REQUIRE_FALSE(o.ok());
    CHECK(o.error().message.starts_with("unknown feature 'nfs' (--omit)"));
    all.push_back(make("iscsi", Feature::When::kAlways, {"network"}));
    auto r = plan_features(all, {}, {}, root);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("'iscsi' requires unknown feature 'network'") !=
          std::string::npos);
    CHECK(r.error().message.starts_with("modules.d/iscsi/feature.conf"));
  }
  SUBCASE("cycles") {
    std::vector<Feature> v = {make("a", Feature::When::kAlways, {"b"}),
                              make("b", Feature::When::kOnRequest, {"a"})};
    auto p = plan_features(v, {}, {}, root);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message.find("a -> b -> a") != std::string::npos);
  }
}

TEST_CASE("feature plan: has-entries: a crypttab of comments does not enable a feature") {
  TempDir t("zinitrd-feat");
  RootFs root(t.path().string());
  auto luks =
      parse_feature("luks", "modules.d/luks", "when = has-entries:/etc/crypttab\ncrypttab = yes\n");
  REQUIRE(luks.ok());
  CHECK(luks->when == Feature::When::kIfHasEntries);
  CHECK(luks->when_path == "/etc/crypttab");
  CHECK(luks->crypttab);
  std::vector<Feature> all = {*luks};
  auto planned = [&] {
    auto p = plan_features(all, {}, {}, root);
    REQUIRE(p.ok());
    return names(*p);
  };
  CHECK(planned().empty());  // no /etc/crypttab
  write_file(t / "etc/crypttab", "# <target name> <source device> <key file> <options>\n\n  \n");
  CHECK(planned().empty());  // Debian's stock file: comments only
  write_file(t / "etc/crypttab", "# comment\ncryptroot UUID=x none luks\n");
  CHECK(planned() == std::vector<std::string>{"luks"});
  CHECK(has_entries("  x"));
  CHECK_FALSE(has_entries("  # x\n\t\n"));
}

TEST_CASE("feature load: the repo's modules.d") {
  auto all = load_features({ZINITRD_SOURCE_DIR "/modules.d"}, RootFs("/nonexistent"));
  REQUIRE_MESSAGE(all.ok(), (all.ok() ? "" : all.error().message));
  RootFs root("/");
  auto plan = plan_features(*all, {}, {}, root);
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.error().message));
  std::vector<std::string> n = names(*plan);
  REQUIRE(n.size() >= 3);
  auto pos = [&](const char* x) { return std::find(n.begin(), n.end(), x) - n.begin(); };
  CHECK(pos("base") < pos("zfs"));
  CHECK(pos("storage") < pos("zfs"));
  CHECK(pos("zfs") < static_cast<long>(n.size()));
  CHECK(pos("keyboard") < static_cast<long>(n.size()));  // in every image, and nothing needs it:
  auto without = plan_features(*all, {}, {"keyboard"}, root);  // an SSH-only machine omits it
  REQUIRE(without.ok());
  CHECK(names(*without).size() == n.size() - 1);
  for (const Feature* f : *plan) {
    INFO(f->name);
    CHECK_FALSE(f->description.empty());
    if (f->name == "zfs") {
      CHECK(f->kmods == std::vector<std::string>{"zfs"});
      CHECK(f->kmod_hint.find("dkms autoinstall -k {kver}") != std::string::npos);
      CHECK(f->hostid);
      for (const char* p : {"zpool", "zfs", "mount.zfs"})
        CHECK(std::find(f->programs.begin(), f->programs.end(), p) != f->programs.end());
    }
    if (f->name == "base") CHECK(f->settings.count("rescue_shell"));

    if (f->name == "storage" || f->name == "keyboard") {
      CHECK(f->kmods_coldplug.size() > 3);
      CHECK(f->kmods.empty());  // nothing loaded unconditionally: coldplug only
    }
  }
  // luks applies where /etc/crypttab names devices (not on every build host): read it as is.
  auto luks =
      std::find_if(all->begin(), all->end(), [](const Feature& f) { return f.name == "luks"; });
  REQUIRE(luks != all->end());
  CHECK(luks->when == Feature::When::kIfHasEntries);
  CHECK(luks->crypttab);
  CHECK(luks->kmods == std::vector<std::string>{"dm_crypt"});
  CHECK(luks->programs == std::vector<std::string>{"cryptsetup"});
}
