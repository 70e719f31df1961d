// boot_test_command.h: `zinitrd boot-test`: boot this machine's kernel and image in a VM against
// the root pool's own disks before the reboot, and say whether the root would be mounted.
//
// Why reading a live pool this way is safe: every real disk is opened read-only by QEMU (its
// base node is read-only=on, so QEMU holds an O_RDONLY descriptor and the kernel refuses any
// write through it) under a qcow2 overlay in a temporary directory that takes every write of the
// guest (the import's label and uberblock updates, the ZIL replay) and is deleted afterwards.
// ZFS on the host never sees the guest. The guest reads the newest uberblock that was on the disk
// when it looked: ZFS only ever writes new blocks and commits them with a new uberblock, so that
// tree is consistent; while the host keeps writing, blocks it frees may be reused a few
// transaction groups later, so a pool under heavy writes can make the guest see a checksum error
// (a false FAIL, never damage): rerun it on a quieter system.
//
// What it cannot prove: that the firmware and the boot loader find this kernel and image and pass
// this command line; that the image drives the real disk controller (the VM has virtio, NVMe or
// SATA disks, whichever driver the image has); keys typed at the console; pools with
// multihost=on while the host has them imported (the guest sees the host's heartbeat and
// refuses); anything after switch_root (the real init is never run).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace zinitrd::gen {

/// What `zinitrd boot-test` is asked to do.
struct BootTestOptions {
  std::string kver;                    ///< kernel release
  std::string kernel;                  ///< "" for /boot/vmlinuz-KVER or /lib/modules/KVER/vmlinuz
  std::string image;                   ///< the image to test
  std::vector<std::string> disks;      ///< --disk; empty for the root pool's members
  std::optional<std::string> cmdline;  ///< --cmdline; nullopt for /proc/cmdline
  int timeout_s = 300;                 ///< the whole VM run
  bool json = false;
  int memory_mb = 1024;
};

/// Exit statuses of `zinitrd boot-test`.
inline constexpr int kBootTestPass = 0, kBootTestFail = 1, kBootTestCannotRun = 2;

/// Runs the boot test and prints its report on stdout (progress and setup errors on stderr).
/// Returns kBootTestPass, kBootTestFail (the boot failed, or the test could not be set up: no
/// kernel, image or disks), or kBootTestCannotRun (QEMU or qemu-img is missing, or the root's
/// key is a passphrase typed at the console, which a test cannot type: UNTESTED).
int run_boot_test(const BootTestOptions& options);

/// True when KVM runs guests here: /dev/kvm opens and KERNEL, booted under KVM without an
/// initrd, reaches its "cannot mount root" panic within 8 s (a nested KVM that crawls counts as
/// unusable). ZINITRD_VM_ACCEL=kvm or =tcg in the environment decides instead. WHY says what was
/// found when it is not usable.
bool kvm_usable(const std::string& qemu, const std::string& kernel, std::string& why);

}  // namespace zinitrd::gen
