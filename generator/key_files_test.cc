// key_files_test.cc: which key files an image carries, from zfs output and configuration.
#include "key_files.h"

#include <doctest/doctest.h>

using namespace zinitrd::gen;

TEST_CASE("encryption roots of a tree: distinct, unencrypted ones skipped") {
  CHECK(parse_encryption_roots("rpool/ROOT\nrpool/ROOT\n-\nrpool/ROOT/os/home\n") ==
        std::vector<std::string>{"rpool/ROOT", "rpool/ROOT/os/home"});
  CHECK(parse_encryption_roots("-\n").empty());
}

TEST_CASE("key locations: file:// ones become key files at the same path") {
  auto k = parse_key_locations(
      "rpool/ROOT\tfile:///etc/zfs/keys/rpool.key\nrpool/ROOT/os/home\tprompt\n"
      "x\thttps://keys.example/x\nbroken\ny\tfile://\n");
  REQUIRE(k.size() == 1);
  CHECK(k[0] == KeyFile{"/etc/zfs/keys/rpool.key", "/etc/zfs/keys/rpool.key", "rpool/ROOT"});
}

TEST_CASE("--keyfile SRC[:DST]") {
  CHECK(parse_keyfile_spec("/etc/zfs/keys/a.key") ==
        KeyFile{"/etc/zfs/keys/a.key", "/etc/zfs/keys/a.key", ""});
  CHECK(parse_keyfile_spec("/tmp/k:/etc/zfs/keys/a.key") ==
        KeyFile{"/tmp/k", "/etc/zfs/keys/a.key", ""});
}

TEST_CASE("the key files of a dataset's tree come from two zfs runs") {
  std::vector<std::vector<std::string>> ran;
  CommandRunner run = [&](const std::vector<std::string>& argv) {
    ran.push_back(argv);
    CommandOutput o;
    o.ran = true;
    o.status = 0;
    o.out = argv[1] == "list" ? "tank/enc\ntank/enc\n-\n" : "tank/enc\tfile:///k/tank.key\n";
    return o;
  };
  auto keys = dataset_key_files("tank/enc/os", run);
  REQUIRE(keys);
  CHECK(*keys == std::vector<KeyFile>{{"/k/tank.key", "/k/tank.key", "tank/enc"}});
  REQUIRE(ran.size() == 2);
  CHECK(ran[1].back() == "tank/enc");

  CommandRunner failing = [](const std::vector<std::string>&) {
    return CommandOutput{true, 1, ""};
  };
  CHECK_FALSE(dataset_key_files("tank/enc/os", failing));
  CommandRunner plain = [](const std::vector<std::string>&) {
    return CommandOutput{true, 0, "-\n"};
  };
  auto none = dataset_key_files("tank/os", plain);
  REQUIRE(none);
  CHECK(none->empty());
}
