#include "crypttab.h"

#include <doctest/doctest.h>

using namespace zinitrd;

TEST_CASE("crypttab: entries with and without key file and options, comments and blanks") {
  std::vector<std::string> problems;
  auto e = parse_crypttab(
      "# <target name>\t<source device>\t<key file>\t<options>\n"
      "\n"
      "cryptroot UUID=0A1B2C3D-4e5f-4a6b-8c7d-9e8f7a6b5c4d none luks,discard\n"
      "  cryptdata\t/dev/sdb1\t/etc/keys/data.key\tkeyfile-size=64,tries=5  \n"
      "bare /dev/disk/by-uuid/1234\n"
      "dash LABEL=zroot - luks\r\n",
      problems);
  CHECK(problems.empty());
  REQUIRE(e.size() == 4);
  CHECK(e[0] ==
        CrypttabEntry{
            "cryptroot", "UUID=0A1B2C3D-4e5f-4a6b-8c7d-9e8f7a6b5c4d", "", {"luks", "discard"}, 3});
  CHECK(e[1] ==
        CrypttabEntry{
            "cryptdata", "/dev/sdb1", "/etc/keys/data.key", {"keyfile-size=64", "tries=5"}, 4});
  CHECK(e[2].key_file.empty());
  CHECK(e[2].options.empty());
  CHECK(e[3].key_file.empty());
  CHECK(e[3].options == std::vector<std::string>{"luks"});
}

TEST_CASE("crypttab: lines that cannot be entries are reported with their line") {
  std::vector<std::string> problems;
  auto e =
      parse_crypttab("lonely\nbad/name /dev/sda1\nok /dev/sda2 none a,b extra words\n", problems);
  REQUIRE(e.size() == 1);
  CHECK(e[0].name == "ok");
  REQUIRE(problems.size() == 3);
  CHECK(problems[0].find("line 1") != std::string::npos);
  CHECK(problems[1].find("contains '/'") != std::string::npos);
  CHECK(problems[2].find("'extra'") != std::string::npos);
}

TEST_CASE("crypttab options become cryptsetup arguments, non-LUKS entries say why") {
  auto o = interpret_crypttab_options({"luks", "discard", "readonly", "keyfile-offset=512",
                                       "keyfile-size=64", "key-slot=1", "no-read-workqueue",
                                       "tries=5", "nofail", "x-systemd.device-timeout=10"});
  CHECK(o.cryptsetup_args == std::vector<std::string>{"--allow-discards", "--readonly",
                                                      "--keyfile-offset=512", "--keyfile-size=64",
                                                      "--key-slot=1", "--perf-no_read_workqueue"});
  CHECK(o.tries == 5);
  CHECK(o.ignored.empty());
  CHECK(o.not_luks.empty());
  CHECK_FALSE(o.noauto);

  CHECK(interpret_crypttab_options({}).tries == 3);
  CHECK(interpret_crypttab_options({"tries=0"}).tries == 3);  // "for ever" is bounded
  CHECK(interpret_crypttab_options({"noauto"}).noauto);
  CHECK(interpret_crypttab_options({"swap"}).not_luks.find("random key") != std::string::npos);
  CHECK(interpret_crypttab_options({"plain", "cipher=aes"}).not_luks.find("plain") == 0);
  CHECK(interpret_crypttab_options({"header=/boot/h.img"}).detached == "/boot/h.img");

  auto odd = interpret_crypttab_options({"tpm2-device=auto", "keyfile-size=x", "frobnicate"});
  REQUIRE(odd.ignored.size() == 3);
  CHECK(odd.ignored[0].find("passphrase") != std::string::npos);
  CHECK(odd.ignored[1].find("not a number") != std::string::npos);
  CHECK(odd.ignored[2].find("frobnicate") == 0);
  CHECK(odd.cryptsetup_args.empty());
}

TEST_CASE("crypttab sources: UUIDs and labels are found without udev, by-id links are not") {
  CHECK(crypttab_source_uuid("UUID=0A1B-x") == "0a1b-x");
  CHECK(crypttab_source_uuid("/dev/disk/by-uuid/abc") == "abc");
  CHECK(crypttab_source_uuid("UUID=").empty());
  CHECK(crypttab_source_uuid("/dev/sda1").empty());
  CHECK(crypttab_source_label("LABEL=zroot") == "zroot");
  CHECK(crypttab_source_label("/dev/disk/by-label/zroot") == "zroot");
  CHECK(crypttab_source_findable("UUID=abc"));
  CHECK(crypttab_source_findable("LABEL=zroot"));
  CHECK(crypttab_source_findable("/dev/nvme0n1p2"));
  CHECK_FALSE(crypttab_source_findable("/dev/disk/by-id/ata-X-part2"));
  CHECK_FALSE(crypttab_source_findable("PARTUUID=1234"));
  CHECK_FALSE(crypttab_source_findable("/dev/"));
}
