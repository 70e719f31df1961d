#include "boot_config.h"

#include <doctest/doctest.h>

using namespace zinitrd;

TEST_CASE("boot config round-trips, including fields that need escaping") {
  BootConfig c;
  c.kver = "6.1.0-28-amd64";
  c.features = {"base", "storage", "zfs"};
  c.modules = {
      {"spl", "/lib/modules/k/updates/dkms/spl.ko", {}, "spl_hostid=0x1234"},
      {"zfs", "/lib/modules/k/updates/dkms/zfs.ko", {"spl", "znvpair"}, "a=\"x\ty\" b=\\"},
      {"crc_t10dif", "/lib/modules/k/crc-t10dif.ko", {}, "", {"crct10dif_pclmul"}, {"x", "y"}}};
  c.load = {"zfs"};
  c.blacklist = {"nouveau", "floppy"};
  c.aliases = {{"pci:v00001AF4d00001001sv*sd*bc*sc*i*", "virtio_pci"}};
  c.settings = {{"rescue_shell", "/bin/sh"}, {"multi", "line1\nline2"}};
  c.luks = {{"cryptroot", "UUID=3d033342-3240-46bf-989b-03ac4972e54f", "/etc/keys/a key", {}},
            {"luks-x", "/dev/vda1", "", {"discard", "keyfile-offset=4"}}};
  auto text = write_boot_config(c);
  auto back = parse_boot_config(text);
  REQUIRE(back.ok());
  CHECK(*back == c);
  CHECK(back->find_module("zfs")->deps.size() == 2);
  CHECK(back->find_module("crc_t10dif")->pre == std::vector<std::string>{"crct10dif_pclmul"});
  CHECK(back->find_module("crc_t10dif")->deps.empty());
  CHECK(back->blacklist.size() == 2);
  CHECK(back->find_module("no-such") == nullptr);
  CHECK(back->setting("rescue_shell") == "/bin/sh");
  CHECK(back->setting("absent", "dflt") == "dflt");
  REQUIRE(back->luks.size() == 2);
  CHECK(back->luks[1].options == std::vector<std::string>{"discard", "keyfile-offset=4"});
}

TEST_CASE("a luks record needs a name and a source") {
  auto bad = parse_boot_config("zinitrd-boot-config\t1\nluks\t\tUUID=x\t\t\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("luks") != std::string::npos);
  CHECK_FALSE(parse_boot_config("zinitrd-boot-config\t1\nluks\tname\tUUID=x\n").ok());
}

TEST_CASE("boot config rejects what it cannot trust") {
  CHECK_FALSE(parse_boot_config("").ok());
  CHECK_FALSE(parse_boot_config("kver\tx\n").ok());
  auto newer = parse_boot_config("zinitrd-boot-config\t99\n");
  REQUIRE_FALSE(newer.ok());
  CHECK(newer.error().message.find("newer") != std::string::npos);
  auto short_module = parse_boot_config("zinitrd-boot-config\t1\nmodule\tzfs\n");
  REQUIRE_FALSE(short_module.ok());
  CHECK(short_module.error().message.find("line 2") != std::string::npos);
  CHECK_FALSE(parse_boot_config("zinitrd-boot-config\t1\nkver\tbad\\q\n").ok());
}

TEST_CASE("a softdep record needs its module first") {
  auto orphan = parse_boot_config("zinitrd-boot-config\t1\nsoftdep\tx\ta\t\n");
  REQUIRE_FALSE(orphan.ok());
  CHECK(orphan.error().message.find("softdep") != std::string::npos);
}

TEST_CASE("unknown record kinds from a newer generator are skipped") {
  auto c = parse_boot_config("zinitrd-boot-config\t1\nfuture\tthing\nkver\tk\n");
  REQUIRE(c.ok());
  CHECK(c->kver == "k");
}

TEST_CASE("module names normalise '-' to '_'") {
  CHECK(normalize_module_name("virtio-blk") == "virtio_blk");
  BootConfig c;
  c.modules = {{"virtio_blk", "/x.ko", {}, ""}};
  CHECK(c.find_module("virtio-blk") != nullptr);
}
