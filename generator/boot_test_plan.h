// boot_test_plan.h: what `zinitrd boot-test` runs, as pure functions of what it found.
//
// The VM: this machine's kernel and the image under test, the root pool's members attached
// read-only, each behind a throwaway qcow2 overlay that takes every write of the guest, no
// network, the serial console in a file. The kernel command line is the machine's own, minus
// what belongs to the real console or the boot loader, plus console=ttyS0, panic=-1 and
// zinitrd.boot_test=1 (boot_check.h: stop before switch_root, verdict, power off).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "boot_verdict.h"

namespace zinitrd::gen {

/// The machine's command line made into the test VM's: console=, BOOT_IMAGE=, initrd= and
/// init's arguments after "--" are dropped (each named in DROPPED), then TCG adds
/// no_timer_check (a loaded host can fail the kernel's IO-APIC timer check under emulation),
/// and console=ttyS0 panic=-1 zinitrd.boot_test=1 come last (pure).
std::string boot_test_cmdline(std::string_view machine, bool tcg,
                              std::vector<std::string>* dropped);

/// How the disks are attached: a controller whose driver the image carries.
enum class DiskBus { kVirtio, kNvme, kSata, kScsi };

/// "virtio-blk", "nvme", "sata (ahci)", "scsi (virtio-scsi)".
const char* disk_bus_name(DiskBus bus);

/// The bus for an image: virtio-blk when HAS_MODULE("virtio_blk") (in the image or built into
/// the kernel), else NVMe, else SATA on q35's AHCI, else virtio-scsi; nullopt when the image can
/// drive none of them (a --host-only image of a machine whose disks QEMU cannot emulate).
std::optional<DiskBus> choose_disk_bus(const std::function<bool(std::string_view)>& has_module);

/// One disk of the VM.
struct VmDisk {
  std::string base;            ///< the real device or disk image file, opened read-only
  bool block_device = false;   ///< host_device driver, O_DIRECT (ZFS bypasses the page cache)
  std::string format = "raw";  ///< of BASE: raw or qcow2
  std::string overlay;         ///< the throwaway qcow2 that takes the guest's writes
};

/// Everything QEMU is started with.
struct VmPlan {
  std::string qemu = "qemu-system-x86_64";
  bool kvm = false;  ///< -accel kvm (with tcg as QEMU's fallback) instead of tcg
  int memory_mb = 1024;
  std::string kernel, initrd, append;
  std::string console_file;  ///< the serial console is written here
  DiskBus bus = DiskBus::kVirtio;
  std::vector<VmDisk> disks;
};

/// QEMU's argv for PLAN (pure). Each base node is read-only=on, under a qcow2 overlay node.
std::vector<std::string> qemu_argv(const VmPlan& plan);

/// A path as one value of a QEMU option: ',' doubled (pure).
std::string qemu_escape(std::string_view path);

/// What the serial console showed.
struct ConsoleFindings {
  std::optional<BootVerdict> verdict;
  std::vector<std::string> boot_log;       ///< the lines of zinitrd's boot log (kBootLogTag lines)
  std::vector<std::string> zinitrd_lines;  ///< "zinitrd: ..." kernel log lines seen meanwhile
  std::string panic;                       ///< the "Kernel panic - not syncing: ..." line
  /// The last "Enter passphrase for 'DATASET'..." prompt of zinitrd or zfs, when the console
  /// ends waiting at one.
  std::string passphrase_prompt;
  std::vector<std::string> tail;  ///< the last lines, for a boot without a verdict
};

/// Reads CONSOLE, the whole serial output (pure).
ConsoleFindings read_console(std::string_view console);

}  // namespace zinitrd::gen
