// zfs_cache_writes.h: keeps the ZFS kernel's writes of /etc/zfs/zpool.cache inside the initramfs.
//
// The kernel rewrites /etc/zfs/zpool.cache itself, naming the pools imported at that moment:
// during an import, and again from a kernel thread named "spa_async" when an import finds its
// on-disk config out of date (a device path or the hostid changed, as on most first boots).
// Kernel threads share PID 1's root, so a write that happens after switch_root lands in the real
// root, naming the root pool alone: a boot pool the root's cache lists (the OpenZFS guide's
// bpool) is dropped from it, zfs-import-cache never imports it and /boot stays empty.
//
// Two ways it gets there, both closed here:
// - the write inside the initramfs fails (no /etc/zfs): the kernel keeps it pending and retries
//   it with the next asynchronous task of the pool, which may come seconds after switch_root;
// - a spa_async thread is still running at switch_root.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace zinitrd::rt {

/// Makes DIR (normally /etc/zfs of the initramfs) exist so that the kernel's write succeeds.
Status prepare_cache_dir(const std::string& dir);

/// The kernel thread that runs a pool's asynchronous tasks (SPL drops "_thread" from the name).
inline constexpr const char* kZfsAsyncComm = "spa_async";

/// Process ids under PROC_ROOT (normally "/proc") whose comm is exactly COMM.
std::vector<int> tasks_named(const std::string& proc_root, const std::string& comm);

/// How a wait for the asynchronous pool threads ended.
struct AsyncWait {
  bool finished = true;  ///< false when threads were still running at the deadline
  int64_t waited_ms = 0;
  size_t still_running = 0;
};

/// Polls PROC_ROOT until no kZfsAsyncComm thread is left or TIMEOUT_MS has passed.
AsyncWait wait_for_zfs_async(const std::string& proc_root, int64_t timeout_ms);

}  // namespace zinitrd::rt
