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

}  // namespace zinitrd::rt
