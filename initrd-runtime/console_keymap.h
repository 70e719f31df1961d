// console_keymap.h: the system's keyboard layout on the console, before anything is typed.
//
// The kernel's console keyboard starts with the US layout; a passphrase, or a command in the
// rescue shell, typed on a German keyboard would come out with "y" and "z" swapped. The image
// carries the system's keymap in loadkeys' binary form (binary_keymap.h) when the system has
// one; /init sets each of its keys with KDSKBENT on a virtual terminal (the keymap is the
// keyboard's, shared by every VT) when something is first to be typed: a passphrase prompt, a
// rescue shell (16384 keys: 60 ms under emulation, which a boot where nothing is typed does not
// spend). A console without a VT (a serial line) has no keyboard map: its terminal sends
// characters.
#pragma once

#include <cstddef>
#include <string>

#include "boot_config.h"
#include "result.h"

namespace zinitrd::rt {

/// Sets the keys of the binary keymap at KEYMAP on the keyboard of the VT at TTY; the number of
/// keys set (0 when the image carries no keymap or there is no VT). An error when the keymap is
/// not one, or the kernel refuses a key.
Result<size_t> load_console_keymap(const std::string& keymap = std::string(kKeymapPath),
                                   const std::string& tty = "/dev/tty0");

/// load_console_keymap() once per boot, before the first thing is typed; its outcome logged (a
/// failure as a warning: the keyboard keeps the US layout).
void ensure_console_keymap();

}  // namespace zinitrd::rt
