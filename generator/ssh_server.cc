// ssh_server.cc: the SSH server's files in the image (see ssh_server.h).
#include "ssh_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "text.h"

namespace zinitrd::gen {
namespace {

constexpr const char* kImageAuthorizedKeys = "/root/.ssh/authorized_keys";

std::string base_name(std::string_view p) {
  size_t s = p.rfind('/');
  return std::string(s == std::string_view::npos ? p : p.substr(s + 1));
}

// The root's dropbearkey, as a host path ("" when the root has none).
std::string root_dropbearkey(const RootFs& root) {
  for (const char* p : {"/usr/bin/dropbearkey", "/usr/sbin/dropbearkey", "/bin/dropbearkey"}) {
    auto r = root.resolve(p);
    if (r) return root.host_path(r->path);
  }
  return "";
}

}  // namespace

size_t count_authorized_keys(std::string_view text) {
  size_t n = 0;
  for (const auto& line : split_all(text, '\n')) {
    std::string_view l = trim(line);
    if (!l.empty() && l[0] != '#') ++n;
  }
  return n;
}

DropbearPublic parse_dropbearkey_output(std::string_view output) {
  DropbearPublic p;
  for (const auto& line : split_all(output, '\n')) {
    std::string_view l = trim(line);
    if (l.starts_with("ssh-") || l.starts_with("ecdsa-")) p.line = std::string(l);
    if (l.starts_with("Fingerprint:")) {
      auto words = split_words(l.substr(12));
      if (!words.empty()) p.fingerprint = words.back();
    }
  }
  return p;
}

SshServerResult add_ssh_server(const RootFs& root, const SshServerOptions& options,
                               const std::vector<std::string>& programs, ImageTree& tree,
                               const CommandRunner& run) {
  SshServerResult out;
  auto note = [&](Status st) {
    if (!st) out.problems.push_back(st.error().message);
  };

  // 1. Who may log in.
  const std::string keys_path =
      options.authorized_keys.empty() ? kDefaultAuthorizedKeys : options.authorized_keys;
  auto keys = root.read_file(keys_path);
  if (!keys) {
    out.problems.push_back("ssh: authorized_keys " + keys_path + ": " + keys.error().message +
                           ": put the public keys allowed to unlock there (one per line, as in "
                           "~/.ssh/authorized_keys), or --omit ssh");
  } else if (count_authorized_keys(*keys) == 0) {
    out.problems.push_back("ssh: " + keys_path +
                           " holds no key, so nobody could log in to "
                           "unlock: add a public key (ssh-ed25519 AAAA...), or --omit ssh");
  }
  if (!out.problems.empty()) return out;  // no host key made for a build that stops anyway
  {
    note(tree.add_directory("/root", 0700));
    note(tree.add_directory("/root/.ssh", 0700));
    note(tree.add_data(kImageAuthorizedKeys, *keys, 0600));
  }

  // 2. The host key: made once, then reused.
  const std::string key_path = options.host_key.empty() ? kDefaultSshHostKey : options.host_key;
  const std::string host_key = root.host_path(key_path);
  const std::string dropbearkey = root_dropbearkey(root);
  DropbearPublic pub;
  bool made = false;
  if (!root.exists(key_path)) {
    if (dropbearkey.empty()) {
      out.problems.push_back("ssh: no host key at " + key_path + " and no dropbearkey in " +
                             root.root() + " to make one: install dropbear-bin");
      return out;
    }
    std::string dir = host_key.substr(0, host_key.rfind('/'));
    ::mkdir(dir.c_str(), 0755);
    std::string tmp = host_key + ".new";
    ::unlink(tmp.c_str());
    CommandOutput r = run({dropbearkey, "-t", "ed25519", "-f", tmp});
    if (!r.ok() || ::chmod(tmp.c_str(), 0600) != 0 ||
        ::rename(tmp.c_str(), host_key.c_str()) != 0) {
      ::unlink(tmp.c_str());
      out.problems.push_back("ssh: cannot make the host key " + key_path + " (" + dropbearkey +
                             ": " + r.describe() +
                             (r.out.empty() ? "" : ": " + std::string(trim(r.out))) + ")");
      return out;
    }
    made = true;
    pub = parse_dropbearkey_output(r.out);
  }
  struct stat st;
  auto resolved = root.resolve(key_path);
  std::string key_host = resolved ? root.host_path(resolved->path) : host_key;
  if (::stat(key_host.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    out.problems.push_back("ssh: host key " + key_path + " is not a file");
    return out;
  }
  if ((st.st_mode & 077) != 0)
    out.notes.push_back("ssh: the host key " + key_path + " is readable by others (mode " +
                        std::to_string(st.st_mode & 0777) + "): chmod 600 " + key_host);
  note(tree.add_file("/etc/zinitrd/ssh_host_ed25519_key", key_host, 0600));
  if (pub.line.empty() && !dropbearkey.empty())
    pub = parse_dropbearkey_output(run({dropbearkey, "-y", "-f", key_host}).out);
  // The public half beside it: what clients put in known_hosts (with the machine's name).
  if (!pub.line.empty() && (made || !root.exists(key_path + ".pub"))) {
    std::ofstream pubf(key_host + ".pub");
    pubf << pub.line << "\n";
  }
  out.notes.push_back(std::string("ssh: the image answers its passphrase prompt over SSH (boot "
                                  "with ip=dhcp or a static ip=); ") +
                      (made ? "made the host key " : "host key ") + key_path +
                      (pub.fingerprint.empty() ? "" : ", fingerprint " + pub.fingerprint) +
                      (keys ? "; " + std::to_string(count_authorized_keys(*keys)) +
                                  " authorized key(s) from " + keys_path
                            : ""));

  // 3. The user dropbear logs in, its shell, and udhcpc's script.
  if (!tree.contains("/etc/passwd"))
    note(tree.add_data("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644));
  if (!tree.contains("/etc/group")) note(tree.add_data("/etc/group", "root:x:0:\n", 0644));
  std::string busybox;
  for (const auto& f : programs)
    if (base_name(f) == "busybox") busybox = f;
  if (!tree.contains("/bin/sh")) {
    if (busybox.empty())
      out.problems.push_back("ssh: the image has no /bin/sh for root's login: install busybox");
    else
      note(tree.add_symlink("/bin/sh", busybox));
  }
  note(tree.add_symlink("/usr/lib/zinitrd/udhcpc.script", "init"));
  return out;
}

}  // namespace zinitrd::gen
