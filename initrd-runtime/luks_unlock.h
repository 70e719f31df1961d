// luks_unlock.h: getting one LUKS device open: key file, passphrases typed before, prompts.
//
// One prompt per distinct secret: a passphrase that opened one device is kept (SecretStore) and
// tried first on every other LUKS device, and then on every ZFS encryption root that still needs
// a key (zfs_keys.h takes the store's secrets as its earlier ones), so a system whose LUKS
// devices and ZFS roots share a passphrase asks once. The order for a device:
//   1. its key file (crypttab's third field, rd.luks.key=), when the image has it;
//   2. each passphrase that opened another device, silently;
//   3. up to `tries` prompts (crypttab's tries=, default 3); a wrong passphrase is said to be
//      wrong and asked again; after the last one the failure report and the rescue shell.
// A failure that is not a wrong passphrase (a missing kernel module, a damaged header) stops at
// once with cryptsetup's own words: asking again would not help. Secrets reach cryptsetup on its
// standard input, never its command line, and are wiped when no longer needed.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "failure.h"
#include "luks_request.h"

namespace zinitrd::rt {

/// Passphrases that opened something during this boot; wiped when forgotten or destroyed.
class SecretStore {
 public:
  SecretStore() = default;
  SecretStore(const SecretStore&) = delete;
  SecretStore& operator=(const SecretStore&) = delete;
  ~SecretStore() { forget(); }

  /// Keeps SECRET (once).
  void add(const std::string& secret);
  /// The secrets, oldest first.
  const std::vector<std::string>& all() const { return secrets_; }
  /// Wipes and drops every secret (before switch_root: the real system must not inherit them).
  void forget();

 private:
  std::vector<std::string> secrets_;
};

/// One `cryptsetup open` run, as unlock_luks sees it.
struct LuksAttempt {
  bool ok = false;
  bool wrong_secret = false;  ///< cryptsetup said no keyslot opens with it (exit code 2)
  std::string command;        ///< the command line (never the secret)
  std::string output;         ///< what cryptsetup said
  std::string status;         ///< "exit code 2"...
};

/// What unlock_luks needs from the system; the runtime's runs cryptsetup and prompts on the
/// consoles, tests fake it.
struct LuksIo {
  /// Opens TARGET on DEVICE with SECRET on cryptsetup's stdin, or with the target's key file
  /// when SECRET is null.
  std::function<LuksAttempt(const LuksTarget& target, const std::string& device,
                            const std::string* secret)>
      open;
  /// True when the in-image key file PATH exists.
  std::function<bool(const std::string& path)> key_exists;
  /// Shows PROMPT and reads one line without echo; nullopt when no console can answer.
  std::function<std::optional<std::string>(const std::string& prompt)> ask;
  /// Tells the user something (a notice on the console and in the log).
  std::function<void(const std::string& text)> say;
};

/// Opens TARGET on DEVICE in the order above; TRIES prompts at most. A passphrase typed here
/// that works joins SECRETS. Nullopt on success.
std::optional<Failure> unlock_luks(const LuksTarget& target, const std::string& device, int tries,
                                   const LuksIo& io, SecretStore& secrets);

}  // namespace zinitrd::rt
