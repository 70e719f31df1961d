// check_luks_test.cc: the LUKS items of `zinitrd check` against fixture facts: a pool on two
// LUKS devices (sysfs as collect_stacked_devices reports it), crypttab texts, key file modes and
// image members with a boot configuration written by write_boot_config.
#include "check_luks.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>

#include "boot_config.h"

using namespace zinitrd::gen;
using zinitrd::BootConfig;
using zinitrd::BootLuks;

namespace {

const char* kKver = "6.1.0-28-amd64";
const char* kUuidA = "3d033342-3240-46bf-989b-03ac4972e54f";
const char* kUuidB = "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d";

ImageMember member(std::string path, mode_t mode = S_IFREG | 0644) {
  ImageMember m;
  m.path = std::move(path);
  m.mode = mode;
  return m;
}

// A pool "rpool" on two LUKS devices, both in crypttab (one with a key file), and an image that
// opens both.
LuksCheckFacts complete() {
  LuksCheckFacts f;
  f.pool = "rpool";
  f.pool_luks =
      std::vector<LuksMapping>{{"crypt0", kUuidA, "/dev/sda2"}, {"crypt1", kUuidB, "/dev/sdb2"}};
  f.crypttab = std::string("# <name> <device> <key> <options>\n") + "crypt0 UUID=" + kUuidA +
               " none luks,discard\n" + "crypt1 UUID=" + kUuidB + " /etc/keys/b.key luks\n" +
               "swap /dev/sdc1 /dev/urandom swap\n";
  f.keys["/etc/keys/b.key"] = 0600;
  f.image_read = true;
  f.image_members = {member("/init", S_IFLNK | 0777),
                     member("/usr/sbin/cryptsetup", S_IFREG | 0755),
                     member("/usr/lib/modules/6.1.0-28-amd64/kernel/drivers/md/dm-crypt.ko"),
                     member("/etc/keys/b.key", S_IFREG | 0600)};
  BootConfig c;
  c.kver = kKver;
  c.luks = {BootLuks{"crypt0", std::string("UUID=") + kUuidA, "", {"discard"}},
            BootLuks{"crypt1", std::string("UUID=") + kUuidB, "/etc/keys/b.key", {}}};
  f.image_boot_config = write_boot_config(c);
  return f;
}

const CheckItem* find(const std::vector<CheckItem>& items, std::string_view id) {
  auto it =
      std::find_if(items.begin(), items.end(), [&](const CheckItem& i) { return i.id == id; });
  return it == items.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("check_luks: no LUKS under the pool nor in crypttab gives no item") {
  LuksCheckFacts f;
  f.pool = "rpool";
  f.pool_luks = std::vector<LuksMapping>{};
  f.crypttab = "# <target name> <source device> <key file> <options>\n";
  CHECK(check_luks(kKver, f).empty());
  f.crypttab = "swap /dev/sdc1 /dev/urandom swap,cipher=aes-xts-plain64\n";
  CHECK(check_luks(kKver, f).empty());
}

TEST_CASE("check_luks: a pool on LUKS with crypttab entries, key files and a complete image") {
  auto items = check_luks(kKver, complete());
  REQUIRE(items.size() == 3);
  for (const auto& i : items) CHECK_MESSAGE(i.state == CheckState::kOk, i.id << ": " << i.detail);
  CHECK(find(items, "luks-crypttab")->detail.find("crypt0 (line 2), crypt1 (line 3)") !=
        std::string::npos);
  CHECK(find(items, "image-luks")->detail.find("opens crypt0, crypt1") != std::string::npos);
  CHECK(crypttab_key_files(complete().crypttab) == std::vector<std::string>{"/etc/keys/b.key"});
}

TEST_CASE("check_luks: a pool device without a crypttab entry") {
  LuksCheckFacts f = complete();
  f.crypttab = std::string("crypt1 UUID=") + kUuidB + " /etc/keys/b.key luks\n";
  // The image has no record for it either: the pool cannot be imported.
  BootConfig c;
  c.luks = {BootLuks{"crypt1", std::string("UUID=") + kUuidB, "/etc/keys/b.key", {}}};
  f.image_boot_config = write_boot_config(c);
  auto items = check_luks(kKver, f);
  const CheckItem* ct = find(items, "luks-crypttab");
  REQUIRE(ct);
  CHECK(ct->state == CheckState::kFail);
  CHECK(ct->detail.find(std::string("/dev/mapper/crypt0 (LUKS UUID ") + kUuidA +
                        " on /dev/sda2)") != std::string::npos);
  CHECK(ct->fix.find(std::string("`crypt0 UUID=") + kUuidA + " none luks`") != std::string::npos);
  const CheckItem* img = find(items, "image-luks");
  REQUIRE(img);
  CHECK(img->state == CheckState::kFail);
  CHECK(img->detail.find("a record for /dev/mapper/crypt0") != std::string::npos);

  // An image built --host-only carries it under its mapping name: boots, but worth a warning.
  f = complete();
  f.crypttab = std::string("crypt1 UUID=") + kUuidB + " /etc/keys/b.key luks\n";
  items = check_luks(kKver, f);
  CHECK(find(items, "luks-crypttab")->state == CheckState::kWarn);
  CHECK(find(items, "image-luks")->state == CheckState::kOk);

  // No crypttab at all.
  f.crypttab.reset();
  items = check_luks(kKver, f);
  CHECK(find(items, "luks-crypttab")->state == CheckState::kWarn);
  CHECK(find(items, "luks-keys") == nullptr);
}

TEST_CASE("check_luks: key files missing or readable by others") {
  LuksCheckFacts f = complete();
  std::vector<CheckItem> items;
  f.keys["/etc/keys/b.key"] = std::nullopt;
  items = check_luks(kKver, f);
  auto k = find(items, "luks-keys");
  REQUIRE(k);
  CHECK(k->state == CheckState::kWarn);
  CHECK(k->detail.find("/etc/keys/b.key (crypt1)") != std::string::npos);
  CHECK(k->detail.find("ask for the passphrase") != std::string::npos);

  f.keys["/etc/keys/b.key"] = 0644;
  items = check_luks(kKver, f);
  k = find(items, "luks-keys");
  CHECK(k->state == CheckState::kWarn);
  CHECK(k->detail.find("mode 0644") != std::string::npos);
}

TEST_CASE("check_luks: an image without cryptsetup, dm-crypt or the key file") {
  LuksCheckFacts f = complete();
  std::vector<CheckItem> items;
  f.image_members = {member("/init", S_IFLNK | 0777)};
  items = check_luks(kKver, f);
  auto img = find(items, "image-luks");
  REQUIRE(img);
  CHECK(img->state == CheckState::kFail);
  CHECK(img->detail.find("cryptsetup, dm-crypt.ko, the key file /etc/keys/b.key of crypt1") !=
        std::string::npos);
  CHECK(img->fix ==
        "run `zinitrd build --kver 6.1.0-28-amd64` (the luks feature comes in when "
        "/etc/crypttab names devices)");

  f = complete();
  f.image_boot_config.reset();
  items = check_luks(kKver, f);
  img = find(items, "image-luks");
  CHECK(img->state == CheckState::kFail);
  CHECK(img->detail.find("a readable boot configuration") != std::string::npos);

  // An unreadable image is the image items' business: no image-luks item.
  f = complete();
  f.image_read = false;
  items = check_luks(kKver, f);
  CHECK(find(items, "image-luks") == nullptr);
}

TEST_CASE("check_luks: the pool's devices unknown") {
  LuksCheckFacts f = complete();
  f.pool_luks.reset();
  f.pool_luks_error = "/ is not a mounted ZFS dataset";
  auto items = check_luks(kKver, f);
  const CheckItem* ct = find(items, "luks-crypttab");
  REQUIRE(ct);
  CHECK(ct->state == CheckState::kUnknown);
  CHECK(ct->detail ==
        "/etc/crypttab names 2 LUKS device(s); cannot tell which are under the root "
        "pool: / is not a mounted ZFS dataset");
  CHECK(find(items, "luks-keys")->state == CheckState::kOk);  // every entry's key is looked at
  CHECK(find(items, "image-luks") == nullptr);
}
