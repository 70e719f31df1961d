// ssh_server_test.cc: the SSH server's files: keys required, the host key made once and reused,
// root's login files; and the `zinitrd check` item. dropbearkey is faked (its output format is
// Debian 12's dropbear 2022.83).
#include "ssh_server.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "check_ssh.h"
#include "test_support.h"

using namespace zinitrd;
using namespace zinitrd::gen;
using zinitrd::test::TempDir;

namespace {

constexpr const char* kKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDz8 alice@laptop\n";
constexpr const char* kDropbearOut =
    "Generating 256 bit ed25519 key, this may take a while...\n"
    "Public key portion is:\n"
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyHost root@builder\n"
    "Fingerprint: sha256!! SHA256:abcdefFINGERPRINT\n";

// A dropbearkey that writes KEY's file (generation) and counts its runs.
struct FakeDropbearkey {
  int made = 0, shown = 0;
  CommandRunner runner() {
    return [this](const std::vector<std::string>& argv) {
      CommandOutput o;
      o.ran = true;
      o.status = 0;
      o.out = kDropbearOut;
      if (argv[1] == "-t") {
        ++made;
        test::write_file(argv.back(), "PRIVATE-KEY-BYTES");
      } else {
        ++shown;
      }
      return o;
    };
  }
};

struct Root {
  TempDir dir;
  Root() { test::write_file(dir / "usr/bin/dropbearkey", "#!/bin/sh\n"); }
  RootFs fs() const { return RootFs(dir.path().string()); }
};

const std::vector<std::string> kPrograms{"/usr/bin/busybox", "/usr/sbin/dropbear"};

}  // namespace

TEST_CASE("authorized_keys: key lines counted, comments and blanks are not keys") {
  CHECK(count_authorized_keys("") == 0);
  CHECK(count_authorized_keys("# only a comment\n\n   \n") == 0);
  CHECK(count_authorized_keys(std::string(kKey) + "# c\n" + kKey) == 2);
}

TEST_CASE("dropbearkey's output gives the public key line and the fingerprint") {
  auto p = parse_dropbearkey_output(kDropbearOut);
  CHECK(p.line == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyHost root@builder");
  CHECK(p.fingerprint == "SHA256:abcdefFINGERPRINT");
  CHECK(parse_dropbearkey_output("garbage").line.empty());
}

TEST_CASE("the host key is made once (0600, public half beside it), then reused") {
  Root root;
  test::write_file(root.dir / "etc/zinitrd/authorized_keys", kKey);
  FakeDropbearkey fake;
  ImageTree tree;
  auto r = add_ssh_server(root.fs(), {}, kPrograms, tree, fake.runner());
  CHECK(r.problems.empty());
  CHECK(fake.made == 1);
  struct stat st;
  REQUIRE(::stat((root.dir / "etc/zinitrd/ssh_host_ed25519_key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(test::slurp(root.dir / "etc/zinitrd/ssh_host_ed25519_key.pub") ==
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyHost root@builder\n");
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("made the host key") != std::string::npos);
  CHECK(r.notes[0].find("SHA256:abcdefFINGERPRINT") != std::string::npos);
  // What the image gets.
  const ImageEntry* key = tree.find("/etc/zinitrd/ssh_host_ed25519_key");
  REQUIRE(key);
  CHECK(key->mode == 0600);
  const ImageEntry* keys = tree.find("/root/.ssh/authorized_keys");
  REQUIRE(keys);
  CHECK(keys->data == kKey);
  CHECK(keys->mode == 0600);
  CHECK(tree.find("/etc/passwd")->data == "root:x:0:0:root:/root:/bin/sh\n");
  CHECK(tree.find("/bin/sh")->data == "/usr/bin/busybox");
  CHECK(tree.find("/usr/lib/zinitrd/udhcpc.script")->data == "init");

  // A rebuild: the same key, never a new one.
  ImageTree again;
  r = add_ssh_server(root.fs(), {}, kPrograms, again, fake.runner());
  CHECK(r.problems.empty());
  CHECK(fake.made == 1);
  CHECK(r.notes[0].find("made") == std::string::npos);
  CHECK(test::slurp(root.dir / "etc/zinitrd/ssh_host_ed25519_key") == "PRIVATE-KEY-BYTES");
}

TEST_CASE("--ssh-authorized-keys and --ssh-host-key name other files in the root") {
  Root root;
  test::write_file(root.dir / "srv/keys", kKey);
  FakeDropbearkey fake;
  ImageTree tree;
  auto r = add_ssh_server(root.fs(), {"/srv/keys", "/srv/hostkey"}, kPrograms, tree, fake.runner());
  CHECK(r.problems.empty());
  CHECK(test::slurp(root.dir / "srv/hostkey") == "PRIVATE-KEY-BYTES");
  CHECK_FALSE(std::filesystem::exists(root.dir / "etc/zinitrd/ssh_host_ed25519_key"));
  CHECK(tree.find("/root/.ssh/authorized_keys")->data == kKey);
}

TEST_CASE("no keys, an empty key file or no dropbearkey stop the build with what to do") {
  Root root;
  FakeDropbearkey fake;
  ImageTree tree;
  auto r = add_ssh_server(root.fs(), {}, kPrograms, tree, fake.runner());
  REQUIRE_FALSE(r.problems.empty());
  CHECK(r.problems[0].find("/etc/zinitrd/authorized_keys") != std::string::npos);
  test::write_file(root.dir / "etc/zinitrd/authorized_keys", "# nobody yet\n");
  r = add_ssh_server(root.fs(), {}, kPrograms, tree, fake.runner());
  REQUIRE_FALSE(r.problems.empty());
  CHECK(r.problems[0].find("holds no key") != std::string::npos);
  std::filesystem::remove(root.dir / "usr/bin/dropbearkey");
  test::write_file(root.dir / "etc/zinitrd/authorized_keys", kKey);
  ImageTree t2;
  r = add_ssh_server(root.fs(), {}, kPrograms, t2, fake.runner());
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].find("install dropbear-bin") != std::string::npos);
  CHECK(fake.made == 0);
}

TEST_CASE("zinitrd check: silent when off, warns about missing keys, host key, image") {
  Root root;
  CHECK_FALSE(check_ssh(gather_ssh(root.fs(), nullptr)));
  // On through the configuration, keys missing.
  test::write_file(root.dir / "etc/zinitrd.conf", "add = ssh\n");
  auto item = check_ssh(gather_ssh(root.fs(), nullptr));
  REQUIRE(item);
  CHECK(item->state == CheckState::kWarn);
  CHECK(item->detail.find("nobody could log in") != std::string::npos);
  // Keys there, host key not yet.
  test::write_file(root.dir / "etc/zinitrd/authorized_keys", kKey);
  item = check_ssh(gather_ssh(root.fs(), nullptr));
  REQUIRE(item);
  CHECK(item->state == CheckState::kWarn);
  CHECK(item->detail.find("no host key") != std::string::npos);
  // Both there, the image without them.
  test::write_file(root.dir / "etc/zinitrd/ssh_host_ed25519_key", "k");
  std::vector<std::string> members{"/init", "/etc/zinitrd/boot.conf"};
  item = check_ssh(gather_ssh(root.fs(), &members));
  REQUIRE(item);
  CHECK(item->state == CheckState::kWarn);
  CHECK(item->fix.find("rebuild") != std::string::npos);
  members.push_back("/root/.ssh/authorized_keys");
  members.push_back("/etc/zinitrd/ssh_host_ed25519_key");
  item = check_ssh(gather_ssh(root.fs(), &members));
  REQUIRE(item);
  CHECK(item->state == CheckState::kOk);
}
