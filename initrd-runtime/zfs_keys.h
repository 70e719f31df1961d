// zfs_keys.h: loading the keys of the encryption roots that the datasets to be mounted need.
//
// Only the roots whose keys are not loaded yet are handled, each once, in the order the datasets
// need them. How a key is obtained follows its properties:
//   - keylocation=prompt: the user types it on the console (every console named by console=),
//     without echo, at most `tries` times per root. A passphrase that unlocked one root (or a
//     LUKS device before the import) is tried on the next roots first, so a system whose roots
//     share a passphrase asks once.
//   - keylocation=file:///PATH: the generator embedded PATH in the image; if it is missing, it is
//     waited for briefly (a late device), then a passphrase or hex key is asked for instead
//     (`zfs load-key -L prompt`). A raw key is never typed: its 32 bytes cannot be.
//   - anything else (https://, where OpenZFS supports it): `zfs load-key` alone, once.
// A secret reaches `zfs load-key` through a pipe on its standard input, never its command line
// (which /proc/PID/cmdline shows to everyone). A wrong key fails `zfs load-key` with EACCES and
// changes nothing on disk; tries are bounded, so nothing loops forever.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "failure.h"
#include "secret_prompt.h"  // PromptBackground; prompts also served over SSH

namespace zinitrd::rt {

class ZfsTools;

/// One line of `zfs list -H -o name,keyformat,keylocation,keystatus` for an encryption root.
struct EncryptionRoot {
  std::string name, keyformat, keylocation, keystatus;
  bool operator==(const EncryptionRoot&) const = default;
};

/// Parses that output (tab-separated, 4 fields; malformed lines skipped) (pure).
std::vector<EncryptionRoot> parse_encryption_roots(std::string_view output);

/// PATH of keylocation=file://PATH ("/etc/zfs/keys/x.key"), "" for other locations (pure).
std::string key_file_path(std::string_view keylocation);

/// True when a key of KEYFORMAT can be typed: passphrase and hex; never raw (pure).
bool format_allows_prompt(std::string_view keyformat);

/// How keys are obtained at boot (from the command line and defaults).
struct KeyOptions {
  std::vector<std::string> consoles;  ///< console= values: the prompt is shown on each
  int tries = 3;                      ///< prompts per encryption root
  int64_t file_wait_ms = 3000;        ///< how long a missing key file is waited for
  PromptBackground background;        ///< serviced while a prompt waits
  /// Passphrases typed earlier in this boot (those that opened LUKS devices, luks_unlock.h):
  /// tried on each prompt root before asking, so one passphrase is typed once.
  const std::vector<std::string>* earlier_secrets = nullptr;
};

/// One `zfs load-key` run, as load_keys sees it.
struct KeyAttempt {
  bool ok = false;
  std::string command;  ///< the command line (never the secret)
  std::string output;   ///< what zfs said
  std::string status;   ///< "exit code 255"...
};

/// What load_keys needs from the system; the runtime's talks to zfs and the consoles, tests fake
/// it.
struct KeyIo {
  /// Runs `zfs load-key` for ROOT: SECRET on its stdin when given (with `-L prompt` unless
  /// keylocation=prompt), else from the key location itself.
  std::function<KeyAttempt(const EncryptionRoot& root, const std::string* secret)> load;
  /// Shows PROMPT and reads one line without echo; nullopt when no console can answer.
  std::function<std::optional<std::string>(const std::string& prompt)> ask;
  /// Waits up to MS milliseconds for PATH to exist; true when it does.
  std::function<bool(const std::string& path, int64_t ms)> wait_for_file;
  /// Tells the user something (a notice on the console and in the log).
  std::function<void(const std::string& text)> say;
};

/// Loads the keys of ROOTS (those with keystatus=available are skipped) as described above.
/// Stops at the first root that cannot be unlocked and returns why. Nullopt on success.
std::optional<Failure> load_keys(const std::vector<EncryptionRoot>& roots,
                                 const KeyOptions& options, const KeyIo& io);

/// The device paths to prompt on for console= values CONSOLES: /dev/NAME for each, options after
/// ',' dropped, duplicates and "null" skipped, in order (pure).
std::vector<std::string> console_devices(const std::vector<std::string>& consoles);

/// Shows PROMPT on /dev/console and on every console of CONSOLES that is another device, and to
/// the clients of the unlock socket when unlock over SSH is set up (secret_prompt.h); reads one
/// line from whichever answers first, with echo off, servicing BACKGROUND meanwhile; nullopt
/// when no console can be opened or all reached end of file, and no remote channel is open.
std::optional<std::string> ask_without_echo(const std::vector<std::string>& consoles,
                                            const std::string& prompt,
                                            const PromptBackground& background = {});

/// Reads the key properties of the encryption roots NAMES and loads their keys with the image's
/// zfs and the consoles (load_keys with the real KeyIo). Nullopt on success.
std::optional<Failure> load_encryption_keys(const ZfsTools& tools,
                                            const std::vector<std::string>& names,
                                            const KeyOptions& options);

}  // namespace zinitrd::rt
