#include "luks_request.h"

#include <doctest/doctest.h>

#include "cmdline.h"

using namespace zinitrd;
using namespace zinitrd::rt;

namespace {

constexpr const char* kA = "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d";
constexpr const char* kB = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9";

LuksRequest luks(std::string_view cmdline, std::vector<std::string>* diags = nullptr) {
  BootRequest r = parse_cmdline(cmdline);
  if (diags) *diags = r.diagnostics;
  return r.luks;
}

}  // namespace

TEST_CASE("rd.luks.uuid: dracut's luks- prefix, upper case, repeats kept once, in order") {
  std::vector<std::string> d;
  LuksRequest r = luks(std::string("rd.luks.uuid=luks-") + kA + " rd.luks.uuid=" +
                           "5E6F7A8B-9C0D-4E1F-A2B3-C4D5E6F7A8B9 rd.luks.uuid=" + kA,
                       &d);
  CHECK(d.empty());
  CHECK(r.uuids == std::vector<std::string>{kA, kB});
  CHECK_FALSE(r.disabled);
  CHECK(r.use_crypttab);
}

TEST_CASE("rd.luks.name, rd.luks.key (default and per UUID), rd.luks.options, luks.* alike") {
  std::vector<std::string> d;
  LuksRequest r = luks(std::string("rd.luks.name=") + kA + "=cryptroot luks.key=/etc/k.key " +
                           "rd.luks.key=" + kB + "=/etc/b.key rd.luks.options=discard,tries=1 " +
                           "luks.options=" + kB + "=readonly",
                       &d);
  CHECK(d.empty());
  CHECK(r.uuids == std::vector<std::string>{kA});
  CHECK(r.names.at(kA) == "cryptroot");
  CHECK(r.default_key == "/etc/k.key");
  CHECK(r.keys.at(kB) == "/etc/b.key");
  CHECK(r.default_options == std::vector<std::string>{"discard", "tries=1"});
  CHECK(r.options.at(kB) == std::vector<std::string>{"readonly"});
}

TEST_CASE("rd.luks=0 and rd.luks.crypttab=0") {
  CHECK(luks("rd.luks=0").disabled);
  CHECK_FALSE(luks("rd.luks=0 rd.luks=1").disabled);
  CHECK_FALSE(luks("rd.luks.crypttab=no").use_crypttab);
}

TEST_CASE("malformed and unsupported LUKS parameters are named and ignored") {
  std::vector<std::string> d;
  LuksRequest r = luks(std::string("rd.luks.uuid=123 rd.luks.name=") + kA +
                           " rd.luks.key=/k.key:/dev/sdb1 rd.luks.key=relative.key "
                           "rd.luks.timeout=30 rd.luks=maybe rd.luks.uuid",
                       &d);
  CHECK(r == LuksRequest{});
  REQUIRE(d.size() == 7);
  CHECK(d[0].find("not a LUKS UUID") != std::string::npos);
  CHECK(d[1].find("rd.luks.name=UUID=NAME") != std::string::npos);
  CHECK(d[2].find("another device") != std::string::npos);
  CHECK(d[3].find("absolute") != std::string::npos);
  CHECK(d[4].find("rd.luks.timeout") != std::string::npos);
  CHECK(d[5].find("0 or 1") != std::string::npos);
  CHECK(d[6].find("needs a value") != std::string::npos);
}

TEST_CASE("normalize_luks_uuid") {
  CHECK(normalize_luks_uuid(kA) == kA);
  CHECK(normalize_luks_uuid("0A1B2C3D4E5F4A6B8C7D9E8F7A6B5C4D") ==
        "0a1b2c3d4e5f4a6b8c7d9e8f7a6b5c4d");
  CHECK(normalize_luks_uuid("UUID=0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d") == kA);
  CHECK(normalize_luks_uuid("0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4").empty());
  CHECK(normalize_luks_uuid("zz1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d").empty());
  CHECK(normalize_luks_uuid("").empty());
}

TEST_CASE("targets: every crypttab entry, sources by UUID, label or device name") {
  std::vector<BootLuks> entries{
      {"cryptroot", std::string("UUID=") + kA, "", {"discard"}},
      {"cryptb", "/dev/vdb1", "/etc/keys/b.key", {}},
      {"cryptc", "LABEL=zroot-c", "", {}},
  };
  std::vector<std::string> notes;
  auto t = plan_luks_targets(entries, LuksRequest{}, notes);
  CHECK(notes.empty());
  REQUIRE(t.size() == 3);
  CHECK(
      t[0] ==
      LuksTarget{"cryptroot", std::string("UUID=") + kA, kA, "", "", "", {"discard"}, "crypttab"});
  CHECK(t[1].path == "/dev/vdb1");
  CHECK(t[1].key_file == "/etc/keys/b.key");
  CHECK(t[2].label == "zroot-c");

  LuksRequest key;
  key.default_key = "/etc/all.key";
  t = plan_luks_targets(entries, key, notes);
  CHECK(t[0].key_file == "/etc/all.key");
  CHECK(t[1].key_file == "/etc/keys/b.key");  // crypttab's own key file wins
}

TEST_CASE("targets: rd.luks.uuid opens only the named devices, with crypttab's settings") {
  std::vector<BootLuks> entries{
      {"cryptroot", std::string("UUID=") + kA, "/etc/keys/a.key", {"discard"}},
      {"other", "/dev/vdc1", "", {}},
  };
  LuksRequest r;
  r.uuids = {kA, kB};
  r.default_options = {"readonly"};
  std::vector<std::string> notes;
  auto t = plan_luks_targets(entries, r, notes);
  REQUIRE(t.size() == 2);
  CHECK(t[0].name == "cryptroot");
  CHECK(t[0].key_file == "/etc/keys/a.key");
  CHECK(t[0].options == std::vector<std::string>{"discard"});
  CHECK(t[1] == LuksTarget{std::string("luks-") + kB,
                           std::string("UUID=") + kB,
                           kB,
                           "",
                           "",
                           "",
                           {"readonly"},
                           "rd.luks.uuid="});
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("'other'") != std::string::npos);

  r.names[kB] = "data";
  r.keys[kA] = "/etc/other.key";
  t = plan_luks_targets(entries, r, notes);
  CHECK(t[1].name == "data");
  CHECK(t[1].origin == "rd.luks.name=");
  CHECK(t[0].key_file == "/etc/other.key");

  r.use_crypttab = false;
  t = plan_luks_targets(entries, r, notes);
  CHECK(t[0].name == std::string("luks-") + kA);
}

TEST_CASE("targets: rd.luks=0 opens nothing and says so") {
  std::vector<BootLuks> entries{{"cryptroot", std::string("UUID=") + kA, "", {}}};
  LuksRequest r;
  r.disabled = true;
  std::vector<std::string> notes;
  CHECK(plan_luks_targets(entries, r, notes).empty());
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("rd.luks=0") != std::string::npos);
}
