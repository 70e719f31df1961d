// luks_unlock_test.cc: how LUKS devices are opened, and how often the user is asked for how many
// devices and ZFS roots (fake LuksIo and KeyIo).
#include "luks_unlock.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "zfs_keys.h"

using namespace zinitrd::rt;

namespace {

// A fake system: each device (and ZFS root) has one right secret; key files exist or not; typed
// lines are queued and every prompt is recorded.
struct Fake {
  std::map<std::string, std::string> right;      // device or root -> the secret that opens it
  std::map<std::string, std::string> key_right;  // device -> the key file that opens it
  std::vector<std::string> files;                // key files in the image
  std::vector<std::string> typed;                // what the user types, in order
  std::vector<std::string> prompts, said, opens;
  int hard_exit = 0;  // cryptsetup fails otherwise (exit code), 0 for never

  std::optional<std::string> ask(const std::string& prompt) {
    prompts.push_back(prompt);
    if (typed.empty()) return std::nullopt;
    std::string t = typed.front();
    typed.erase(typed.begin());
    return t;
  }

  LuksIo luks() {
    LuksIo io;
    io.open = [this](const LuksTarget& t, const std::string& dev, const std::string* secret) {
      opens.push_back(dev + (secret ? " <- " + *secret : " <- " + t.key_file));
      LuksAttempt a;
      a.command = "cryptsetup open " + dev + " " + t.name;
      if (hard_exit) {
        a.status = "exit code " + std::to_string(hard_exit);
        a.output = "Check that kernel supports aes-xts-plain64 cipher";
        return a;
      }
      a.ok = secret ? right[dev] == *secret : key_right[dev] == t.key_file;
      a.wrong_secret = !a.ok;
      a.status = a.ok ? "exit code 0" : "exit code 2";
      return a;
    };
    io.key_exists = [this](const std::string& p) {
      return std::find(files.begin(), files.end(), p) != files.end();
    };
    io.ask = [this](const std::string& p) { return ask(p); };
    io.say = [this](const std::string& text) { said.push_back(text); };
    return io;
  }

  KeyIo zfs() {
    KeyIo io;
    io.load = [this](const EncryptionRoot& r, const std::string* secret) {
      KeyAttempt a;
      a.ok = secret && right[r.name] == *secret;
      a.status = a.ok ? "exit code 0" : "exit code 255";
      return a;
    };
    io.ask = [this](const std::string& p) { return ask(p); };
    io.wait_for_file = [](const std::string&, int64_t) { return false; };
    io.say = [this](const std::string& text) { said.push_back(text); };
    return io;
  }
};

LuksTarget target(std::string name, std::string key_file = "") {
  LuksTarget t;
  t.name = std::move(name);
  t.key_file = std::move(key_file);
  return t;
}

}  // namespace

TEST_CASE("one passphrase typed once opens a LUKS mirror and unlocks the ZFS root on it") {
  Fake f;
  f.right = {{"/dev/vda1", "pw"}, {"/dev/vdb1", "pw"}, {"mpool/root", "pw"}};
  f.typed = {"pw"};
  SecretStore secrets;
  CHECK_FALSE(unlock_luks(target("crypt-a"), "/dev/vda1", 3, f.luks(), secrets));
  CHECK_FALSE(unlock_luks(target("crypt-b"), "/dev/vdb1", 3, f.luks(), secrets));
  KeyOptions keys;
  keys.earlier_secrets = &secrets.all();
  CHECK_FALSE(load_keys({{"mpool/root", "passphrase", "prompt", "unavailable"}}, keys, f.zfs()));
  REQUIRE(f.prompts.size() == 1);
  CHECK(f.prompts[0] == "Enter passphrase for LUKS device 'crypt-a' on /dev/vda1 (try 1 of 3): ");
  CHECK(f.said.size() == 2);  // "also opened crypt-b", "also unlocked mpool/root"
  secrets.forget();
  CHECK(secrets.all().empty());
}

TEST_CASE("a second distinct passphrase is asked for once, and both are tried on ZFS roots") {
  Fake f;
  f.right = {{"/dev/vda1", "one"}, {"/dev/vdb1", "two"}, {"pool/a", "two"}, {"pool/b", "one"}};
  f.typed = {"one", "two"};
  SecretStore secrets;
  CHECK_FALSE(unlock_luks(target("a"), "/dev/vda1", 3, f.luks(), secrets));
  CHECK_FALSE(unlock_luks(target("b"), "/dev/vdb1", 3, f.luks(), secrets));
  CHECK(secrets.all() == std::vector<std::string>{"one", "two"});
  KeyOptions keys;
  keys.earlier_secrets = &secrets.all();
  CHECK_FALSE(load_keys({{"pool/a", "passphrase", "prompt", "unavailable"},
                         {"pool/b", "passphrase", "prompt", "unavailable"}},
                        keys, f.zfs()));
  CHECK(f.prompts.size() == 2);  // one per distinct secret, none for the ZFS roots
}

TEST_CASE("a wrong passphrase is said to be wrong and asked again, three are the rescue shell") {
  Fake f;
  f.right = {{"/dev/vda1", "right"}};
  f.typed = {"wrong", "right"};
  SecretStore secrets;
  CHECK_FALSE(unlock_luks(target("cryptroot"), "/dev/vda1", 3, f.luks(), secrets));
  REQUIRE(f.prompts.size() == 2);
  CHECK(f.prompts[1].find("(try 2 of 3)") != std::string::npos);
  REQUIRE(f.said.size() == 1);
  CHECK(f.said[0] == "wrong passphrase for LUKS device 'cryptroot' on /dev/vda1; try again");
  CHECK(secrets.all() == std::vector<std::string>{"right"});  // the wrong one is not kept

  Fake g;
  g.right = {{"/dev/vda1", "right"}};
  g.typed = {"a", "b", "c", "right"};
  SecretStore none;
  auto fail = unlock_luks(target("cryptroot"), "/dev/vda1", 3, g.luks(), none);
  REQUIRE(fail);
  CHECK(fail->summary == "cannot open LUKS device 'cryptroot' on /dev/vda1: 3 wrong passphrases");
  CHECK(fail->status == "exit code 2");
  CHECK(fail->hints[0].find("cryptsetup open /dev/vda1 cryptroot") != std::string::npos);
  CHECK(g.prompts.size() == 3);
  CHECK(none.all().empty());
}

TEST_CASE("crypttab's tries= bounds the prompts") {
  Fake f;
  f.right = {{"/dev/vda1", "right"}};
  f.typed = {"a", "right"};
  SecretStore secrets;
  CHECK(unlock_luks(target("c"), "/dev/vda1", 1, f.luks(), secrets));
  CHECK(f.prompts.size() == 1);
}

TEST_CASE("a key file in the image opens the device without a prompt, a missing one asks") {
  Fake f;
  f.key_right = {{"/dev/vda1", "/etc/keys/root.key"}};
  f.files = {"/etc/keys/root.key"};
  SecretStore secrets;
  CHECK_FALSE(unlock_luks(target("c", "/etc/keys/root.key"), "/dev/vda1", 3, f.luks(), secrets));
  CHECK(f.prompts.empty());
  CHECK(f.said.empty());

  Fake g;
  g.right = {{"/dev/vda1", "pw"}};
  g.typed = {"pw"};
  CHECK_FALSE(unlock_luks(target("c", "/etc/keys/gone.key"), "/dev/vda1", 3, g.luks(), secrets));
  REQUIRE(g.said.size() == 1);
  CHECK(g.said[0].find("not in the image") != std::string::npos);
  CHECK(g.prompts.size() == 1);

  Fake h;  // a stale key file: said, then the passphrase
  h.right = {{"/dev/vda1", "pw"}};
  h.files = {"/etc/keys/old.key"};
  h.typed = {"pw"};
  SecretStore s2;
  CHECK_FALSE(unlock_luks(target("c", "/etc/keys/old.key"), "/dev/vda1", 3, h.luks(), s2));
  CHECK(h.said[0].find("did not open") != std::string::npos);
}

TEST_CASE("a failure that is not a wrong passphrase stops at once with cryptsetup's words") {
  Fake f;
  f.hard_exit = 1;
  f.typed = {"pw", "pw", "pw"};
  SecretStore secrets;
  auto fail = unlock_luks(target("c"), "/dev/vda1", 3, f.luks(), secrets);
  REQUIRE(fail);
  CHECK(f.prompts.size() == 1);
  CHECK(fail->output.find("kernel supports") != std::string::npos);
  CHECK(fail->summary.find("cryptsetup failed (exit code 1)") != std::string::npos);
}

TEST_CASE("no console to ask on: the failure says how to boot without one") {
  Fake f;
  SecretStore secrets;
  auto fail = unlock_luks(target("c"), "/dev/vda1", 3, f.luks(), secrets);
  REQUIRE(fail);
  CHECK(fail->summary.find("no console") != std::string::npos);
}
