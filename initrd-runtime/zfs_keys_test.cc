// zfs_keys_test.cc: which keys are loaded, how, and how often the user is asked (fake KeyIo).
#include "zfs_keys.h"

#include <doctest/doctest.h>

#include <map>

#include "zfs_mount.h"

using namespace zinitrd::rt;

namespace {

// A fake system: each root has one right secret; file keys exist or not; typed lines are queued.
struct Fake {
  std::map<std::string, std::string> right;  // root -> the secret that unlocks it
  std::map<std::string, bool> file_ok;       // root -> its key file unlocks it
  std::vector<std::string> files;            // key files that exist
  std::vector<std::string> typed;            // what the user types, in order
  std::vector<std::string> prompts, loads, said;
  std::vector<int64_t> waited;
  std::map<std::string, std::string> loaded;

  KeyIo io() {
    KeyIo io;
    io.load = [this](const EncryptionRoot& r, const std::string* secret) {
      loads.push_back(r.name + (secret ? " <- " + *secret : " <- location"));
      KeyAttempt a;
      a.command = "zfs load-key " + r.name;
      a.ok = secret ? right[r.name] == *secret : file_ok[r.name];
      a.status = a.ok ? "exit code 0" : "exit code 255";
      if (a.ok) loaded[r.name] = secret ? *secret : "file";
      return a;
    };
    io.ask = [this](const std::string& prompt) -> std::optional<std::string> {
      prompts.push_back(prompt);
      if (typed.empty()) return std::nullopt;
      std::string t = typed.front();
      typed.erase(typed.begin());
      return t;
    };
    io.wait_for_file = [this](const std::string& path, int64_t ms) {
      waited.push_back(ms);
      return std::find(files.begin(), files.end(), path) != files.end();
    };
    io.say = [this](const std::string& text) { said.push_back(text); };
    return io;
  }
};

EncryptionRoot prompt_root(std::string name) {
  return {std::move(name), "passphrase", "prompt", "unavailable"};
}

}  // namespace

TEST_CASE("key roots: only the unavailable encryption roots of the mounted datasets, in order") {
  auto d = parse_dataset_list(
      "tank/be\t/\ton\ttank\tunavailable\n"
      "tank/be/usr\t/usr\ton\ttank/be/usr\tunavailable\n"
      "tank/be/var\t/var\ton\ttank/var-key\tunavailable\n"  // not early: not needed at boot
      "tank/be/etc\t/etc\ton\ttank\tunavailable\n");
  auto early = select_early_children("tank/be", d);
  std::vector<std::string> needed{"tank/be"};
  for (const auto& c : early) needed.push_back(c.dataset);
  CHECK(keys_to_load(d, needed) == std::vector<std::string>{"tank", "tank/be/usr"});
}

TEST_CASE("key properties are parsed, key file paths and typeable formats") {
  auto r = parse_encryption_roots(
      "cpool/ROOT/pass\tpassphrase\tprompt\tunavailable\n"
      "cpool/ROOT/keyfile\thex\tfile:///etc/zfs/keys/cpool.key\tunavailable\n"
      "bad\tline\n");
  REQUIRE(r.size() == 2);
  CHECK(r[1] == EncryptionRoot{"cpool/ROOT/keyfile", "hex", "file:///etc/zfs/keys/cpool.key",
                               "unavailable"});
  CHECK(key_file_path(r[1].keylocation) == "/etc/zfs/keys/cpool.key");
  CHECK(key_file_path("prompt").empty());
  CHECK(key_file_path("https://example.org/k").empty());
  CHECK(format_allows_prompt("passphrase"));
  CHECK(format_allows_prompt("hex"));
  CHECK_FALSE(format_allows_prompt("raw"));
}

TEST_CASE("a passphrase root: asked until right, at most 3 times") {
  Fake fake;
  fake.right["rpool"] = "secret";
  fake.typed = {"wrong", "secret"};
  KeyOptions opt;
  CHECK_FALSE(load_keys({prompt_root("rpool")}, opt, fake.io()));
  CHECK(fake.prompts.size() == 2);
  CHECK(fake.prompts[0] == "Enter passphrase for 'rpool' (try 1 of 3): ");
  CHECK(fake.prompts[1].find("try 2 of 3") != std::string::npos);
  CHECK(fake.loaded["rpool"] == "secret");
}

TEST_CASE("three wrong passphrases fail with the message, nothing more is asked") {
  Fake fake;
  fake.right["rpool"] = "secret";
  fake.typed = {"a", "b", "c", "secret"};
  auto f = load_keys({prompt_root("rpool"), prompt_root("other")}, KeyOptions{}, fake.io());
  REQUIRE(f);
  CHECK(f->summary == "cannot load the encryption key of 'rpool': 3 wrong passphrases");
  CHECK(f->stage == "mount");
  CHECK(fake.prompts.size() == 3);
  CHECK(fake.typed.size() == 1);  // the fourth line was never read
  CHECK(fake.loaded.empty());
}

TEST_CASE("one passphrase typed is tried on the other roots before asking again") {
  Fake fake;
  fake.right = {{"a", "shared"}, {"b", "shared"}, {"c", "other"}};
  fake.typed = {"shared", "other"};
  std::vector<EncryptionRoot> roots{prompt_root("a"), prompt_root("b"), prompt_root("c")};
  roots.push_back({"d", "passphrase", "prompt", "available"});  // loaded already: skipped
  CHECK_FALSE(load_keys(roots, KeyOptions{}, fake.io()));
  CHECK(fake.prompts.size() == 2);  // for a, and for c (shared did not unlock c)
  CHECK(fake.prompts[1].find("'c'") != std::string::npos);
  CHECK(fake.loaded ==
        std::map<std::string, std::string>{{"a", "shared"}, {"b", "shared"}, {"c", "other"}});
  CHECK(fake.loads ==
        std::vector<std::string>{"a <- shared", "b <- shared", "c <- shared", "c <- other"});
}

TEST_CASE("a wrong passphrase is not retried on other roots") {
  Fake fake;
  fake.right = {{"a", "x"}, {"b", "wrong-for-a"}};
  fake.typed = {"wrong-for-a", "x", "wrong-for-a"};
  CHECK_FALSE(load_keys({prompt_root("a"), prompt_root("b")}, KeyOptions{}, fake.io()));
  CHECK(fake.prompts.size() == 3);
}

TEST_CASE("no console to ask on fails at once instead of waiting") {
  Fake fake;
  auto f = load_keys({prompt_root("a")}, KeyOptions{}, fake.io());
  REQUIRE(f);
  CHECK(f->summary.find("no console") != std::string::npos);
  CHECK(fake.prompts.size() == 1);
}

TEST_CASE("a key file in the image is used without any prompt") {
  Fake fake;
  fake.files = {"/etc/zfs/keys/cpool.key"};
  fake.file_ok["cpool/k"] = true;
  KeyOptions opt;
  CHECK_FALSE(load_keys({{"cpool/k", "hex", "file:///etc/zfs/keys/cpool.key", "unavailable"}}, opt,
                        fake.io()));
  CHECK(fake.prompts.empty());
  CHECK(fake.loads == std::vector<std::string>{"cpool/k <- location"});
  CHECK(fake.waited == std::vector<int64_t>{opt.file_wait_ms});
}

TEST_CASE("raw keys are never typed: a missing or wrong key file fails without a prompt") {
  Fake fake;
  auto f = load_keys({{"k", "raw", "file:///keys/k.raw", "unavailable"}}, KeyOptions{}, fake.io());
  REQUIRE(f);
  CHECK(f->summary == "cannot load the encryption key of 'k': its key file /keys/k.raw is missing");
  CHECK(fake.prompts.empty());
  fake.files = {"/keys/k.raw"};
  f = load_keys({{"k", "raw", "file:///keys/k.raw", "unavailable"}}, KeyOptions{}, fake.io());
  REQUIRE(f);
  CHECK(f->summary.find("did not unlock") != std::string::npos);
  CHECK_FALSE(f->retryable);
  CHECK(fake.prompts.empty());
  f = load_keys({{"k", "raw", "prompt", "unavailable"}}, KeyOptions{}, fake.io());
  REQUIRE(f);
  CHECK(fake.prompts.empty());
}

TEST_CASE("a passphrase whose key file does not appear is asked for after the wait") {
  Fake fake;
  fake.right["late"] = "pw";
  fake.typed = {"pw"};
  KeyOptions opt;
  opt.file_wait_ms = 1234;
  CHECK_FALSE(
      load_keys({{"late", "passphrase", "file:///run/late.key", "unavailable"}}, opt, fake.io()));
  CHECK(fake.waited == std::vector<int64_t>{1234});
  REQUIRE(fake.prompts.size() == 1);
  CHECK(fake.said.at(0).find("did not appear") != std::string::npos);
  CHECK(fake.loads == std::vector<std::string>{"late <- pw"});
}

TEST_CASE("console devices from console= values") {
  CHECK(console_devices({"ttyS0,115200n8", "tty0", "ttyS0", "null", "", "../x"}) ==
        std::vector<std::string>{"/dev/ttyS0", "/dev/tty0"});
  CHECK(console_devices({}).empty());
}
