// switch_root.h: handing the machine to the real init in /sysroot.
//
// The order matters and mirrors util-linux switch_root: first check that the new init exists and
// is executable inside the new root (resolving its symlinks there, not in the initramfs), before
// anything is touched; then move /dev, /proc, /sys and /run under the new root, free the
// initramfs (rootfs cannot be unmounted, so its files are deleted, never crossing into another
// mount), move the new root onto "/", chroot, and exec init with the arguments the kernel gave us.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "failure.h"
#include "result.h"

namespace zinitrd::rt {

/// The init programs tried, in order, when init= is not given (the kernel's own list).
inline constexpr const char* kDefaultInits[] = {"/sbin/init", "/etc/init", "/bin/init", "/bin/sh"};

/// Finds the init to run inside NEW_ROOT: REQUESTED when set, else the first of kDefaultInits.
/// Fails when it is missing or not executable there.
std::optional<Failure> find_new_init(const std::string& new_root, const std::string& requested,
                                     std::string& init);

/// Deletes everything below the directory DIRFD that lives on the same device, without
/// following symlinks or entering other mounts; closes DIRFD. Returns the entries it could not
/// remove.
int remove_tree_same_device(int dirfd);

/// Switches to NEW_ROOT and execs INIT with ARGV (argv[0] replaced) and ENVP. Returns only when
/// the switch could not even start (nothing was changed), with the reason; once the point of
/// no return is passed, failures end in a reboot.
Failure switch_root(const std::string& new_root, const std::string& init,
                    const std::vector<std::string>& args, char** envp);

}  // namespace zinitrd::rt
