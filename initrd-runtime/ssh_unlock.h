// ssh_unlock.h: unlock over SSH: the network from ip= and dropbear, only while a secret is
// awaited.
//
// An image built with the ssh feature carries dropbear, its host key, root's authorized_keys and
// the NIC drivers (coldplugged like disks). When the kernel command line has ip=, the first
// prompt for a secret (secret_prompt.h) starts a helper in its own process group: it waits for
// the interfaces, configures them (static addresses directly, DHCP through busybox udhcpc) and
// becomes dropbear, whose every login runs `init unlock` (no shell unless the image's ssh_shell
// setting allows one). When the boot stops asking (the keys are loaded, or it gave up and said
// why to both sides), the clients hear the last word, dropbear and udhcpc are stopped and every
// ethernet interface is flushed and set down: the real system starts from a clean state.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "boot_config.h"
#include "cmdline.h"
#include "secret_prompt.h"

namespace zinitrd::rt {

/// Where the image keeps the SSH server's files (written by the generator's ssh pass).
inline constexpr const char* kSshHostKey = "/etc/zinitrd/ssh_host_ed25519_key";
inline constexpr const char* kSshAuthorizedKeys = "/root/.ssh/authorized_keys";
/// What dropbear runs for every login unless the image allows a shell (ssh_shell=yes).
inline constexpr const char* kUnlockCommand = "/usr/lib/zinitrd/init unlock";
/// Where dropbear and udhcpc write (the console gets it too with rd.debug).
inline constexpr const char* kSshLog = "/run/zinitrd/ssh.log";

/// The dropbear command line for the image's settings (pure): no passwords, no forwarding,
/// the forced unlock command unless SHELL.
std::vector<std::string> dropbear_argv(const std::string& dropbear, int port, bool shell);

/// The SSH unlock service of one boot.
class SshUnlock {
 public:
  SshUnlock() = default;
  SshUnlock(const SshUnlock&) = delete;
  SshUnlock& operator=(const SshUnlock&) = delete;

  /// Decides whether this boot serves prompts over SSH: the image has the ssh feature and the
  /// command line asks for a network (ip=); logs why not when only one of them is there.
  void configure(const BootConfig& config, const BootRequest& request);
  /// True when configure() found both.
  bool enabled() const { return enabled_; }
  /// Called when a secret is awaited: the first call starts the unlock socket, the network and
  /// dropbear. The socket's clients, or nullptr when disabled or it could not start.
  UnlockClients* open();
  /// The boot stopped asking: tells the clients TEXT, stops dropbear and udhcpc, takes the
  /// network down. Does nothing when nothing was started.
  void close(const std::string& text);

 private:
  bool enabled_ = false;
  bool debug_ = false;
  bool shell_ = false;
  int port_ = 22;
  std::vector<IpConfig> network_;
  UnlockClients clients_;
  pid_t helper_ = -1;  ///< the helper (later dropbear), leader of its process group
};

}  // namespace zinitrd::rt
