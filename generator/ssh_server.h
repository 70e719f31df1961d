// ssh_server.h: the files of unlock over SSH (features with `ssh-server = yes`, modules.d/ssh).
//
// The runtime's side is initrd-runtime/ssh_unlock.h. Here the image gets:
//   - root's authorized_keys (/root/.ssh/authorized_keys, 0600) from the root's
//     /etc/zinitrd/authorized_keys or --ssh-authorized-keys FILE (inside the root); a file
//     without a key fails the build, since nobody could log in;
//   - the host key at /etc/zinitrd/ssh_host_ed25519_key (0600), from --ssh-host-key PATH
//     (default: the same path in the root). It is generated once, with the root's dropbearkey,
//     when it does not exist, and reused on every rebuild so clients keep trusting it; its public
//     half is written beside it (PATH.pub, a known_hosts line without the host name) and its
//     fingerprint is announced. It is the initramfs's own key, never the system's: the image in
//     /boot is readable by anyone who can read the disk;
//   - /etc/passwd and /etc/group for root (dropbear looks the user up), /bin/sh (busybox) for
//     root's login shell, and udhcpc's script (a link to the runtime).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "image_tree.h"
#include "process.h"
#include "root_fs.h"

namespace zinitrd::gen {

/// The root's authorized_keys when no --ssh-authorized-keys is given; its existence enables the
/// ssh feature (modules.d/ssh).
inline constexpr const char* kDefaultAuthorizedKeys = "/etc/zinitrd/authorized_keys";
/// The host key's default place in the root, and its place in the image.
inline constexpr const char* kDefaultSshHostKey = "/etc/zinitrd/ssh_host_ed25519_key";

/// Where the SSH server's inputs are (in-root paths; empty = the defaults above).
struct SshServerOptions {
  std::string authorized_keys;
  std::string host_key;
};

/// What adding the SSH server did.
struct SshServerResult {
  std::vector<std::string> problems;  ///< the build must stop (nothing written)
  std::vector<std::string> notes;     ///< what the user must know (fingerprint, new key)
};

/// The number of keys in authorized_keys TEXT: lines that are neither blank nor comments (pure).
size_t count_authorized_keys(std::string_view text);

/// The public key line ("ssh-ed25519 AAAA... comment") and fingerprint ("SHA256:...") in the
/// output of `dropbearkey -y -f KEY` or of its generation; empty strings when absent (pure).
struct DropbearPublic {
  std::string line, fingerprint;
};
DropbearPublic parse_dropbearkey_output(std::string_view output);

/// Adds the files above to TREE. PROGRAMS are the in-image files of the ELF closure (to find
/// busybox). RUN runs dropbearkey (tests answer for it).
SshServerResult add_ssh_server(const RootFs& root, const SshServerOptions& options,
                               const std::vector<std::string>& programs, ImageTree& tree,
                               const CommandRunner& run);

}  // namespace zinitrd::gen
