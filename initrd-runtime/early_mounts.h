// early_mounts.h: the API file systems PID 1 needs before anything else.
//
// The kernel mounts nothing for an initramfs /init (CONFIG_DEVTMPFS_MOUNT applies to the real root
// only and is off on Debian anyway), so /proc, /sys, /dev (devtmpfs), /dev/pts and /run are ours.
// /run is a tmpfs that switch_root moves into the new root, so /run/zinitrd/boot.log survives.
#pragma once

#include "result.h"

namespace zinitrd::rt {

/// Mounts /proc, /sys, /dev, /dev/pts and /run; what is mounted already is kept. Every failure
/// is collected into the one error (the boot goes on: later stages report what they miss).
Status mount_early_filesystems();

/// Makes sure fds 0, 1 and 2 are open: /dev/console when possible, else /dev/null.
void ensure_standard_fds();

/// Points those of fds 0, 1 and 2 that are /dev/null at /dev/console once it opens (pure but
/// for the paths, which tests give). A console whose driver is a module (console=hvc0:
/// virtio_console) does not exist when /init starts, and the kernel gives init none; the real
/// init must get the console the kernel would have given it (an init=/bin/sh above all).
/// Returns how many fds it pointed there.
int attach_late_console(const char* console = "/dev/console");

}  // namespace zinitrd::rt
