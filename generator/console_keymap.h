// console_keymap.h: the keyboard layout passphrases are typed with at boot.
//
// The kernel's console starts with the US layout. A German user typing a passphrase with a "z"
// presses the key that the US layout calls "y": without the system's keymap in the image, the
// passphrase the pool was given is never typed, and the system does not boot. initramfs-tools
// (KEYMAP=y, which cryptsetup's hook sets) and dracut (vconsole.keymap) carry the keymap; so does
// zinitrd, in the binary form of `loadkeys -b` (a "bkeymap" header, one flag byte for each of the
// kernel's 256 keymaps, then 128 key values for each keymap present), which the runtime hands to
// the kernel (console_keymap.h of the runtime) before anything is asked.
//
// Where the system's keymap is: Debian and Ubuntu (console-setup) keep the one their boot loads
// compiled from /etc/default/keyboard in /etc/console-setup/cached_UTF-8_del.kmap.gz; systemd
// systems name it as KEYMAP= in /etc/vconsole.conf, a file of kbd's keymap directories.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "process.h"
#include "result.h"
#include "root_fs.h"

namespace zinitrd::gen {

/// A keymap of the system: its file (in-root path) and what chose it, for messages.
struct KeymapSource {
  std::string path;    ///< "/etc/console-setup/cached_UTF-8_del.kmap.gz"
  std::string origin;  ///< "console-setup", "KEYMAP=de-latin1 in /etc/vconsole.conf"
};

/// The keymap the system at ROOT loads on its consoles: console-setup's cached one, else
/// vconsole.conf's KEYMAP found in the keymap directories of kbd (/usr/share/kbd/keymaps,
/// /usr/lib/kbd/keymaps) or console-data (/usr/share/keymaps). nullopt when it configures none;
/// an error when vconsole.conf names one that is not there.
Result<std::optional<KeymapSource>> find_console_keymap(const RootFs& root);

/// The value of KEYMAP= in vconsole.conf's TEXT (shell syntax, quotes removed; "" when unset).
std::string vconsole_keymap(std::string_view text);

/// The binary keymap of the keymap file at HOST_PATH (text, or gzip-compressed), compiled by
/// `loadkeys -u -b` through RUN: -u keeps the Unicode symbols console-setup writes (U+2122),
/// which loadkeys otherwise looks up among the 8-bit charset's names and refuses.
Result<std::string> compile_keymap(const std::string& host_path, const CommandRunner& run);

}  // namespace zinitrd::gen
