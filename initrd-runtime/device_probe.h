// device_probe.h: the label slots of every block device, read beside one another by child
// processes, none of them waited for past a deadline.
//
// A dying disk takes its time to fail each read: its driver's error handling retries and resets
// the link for seconds per request, and opening it waits while the kernel still tries to read its
// partition table. Read in turn, one such disk held up the search for the root pool's members
// until it had failed every read (80 s under QEMU with a disk that fails after half a second),
// although the pool's own disks had answered long before. Here each device is read once, by a
// child process of its own; a scan waits for the reads it started, each up to kProbeWaitMs, and
// goes on with the devices that answered. A device still being read counts as carrying no label
// for now, and its answer is taken by a later scan. Labels do not change before the import, so
// each device's answer is kept for the boot (by its node, device number and size: another
// medium is read again). Before switch_root, the reads still stuck in the kernel are killed and
// left to end when the kernel lets them (abandon()).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "block_devices.h"
#include "fd.h"

namespace zinitrd::rt {

/// How long a scan waits for one device's read: a healthy disk answers in milliseconds, a USB
/// stick's first read within a second.
inline constexpr int64_t kProbeWaitMs = 2000;

/// One device's answer: the bytes read at each of its label slots (an empty string where the
/// read failed).
struct ProbedDevice {
  BlockDevice device;
  std::vector<std::string> slots;
};

class DeviceProbe {
 public:
  /// What a child process does for one device: read its label slots.
  using Reader = std::function<std::vector<std::string>(const BlockDevice&)>;

  explicit DeviceProbe(Reader reader, int64_t wait_ms = kProbeWaitMs);
  DeviceProbe(const DeviceProbe&) = delete;
  DeviceProbe& operator=(const DeviceProbe&) = delete;
  ~DeviceProbe();  ///< abandons the reads under way

  /// The answers of DEVICES, in their order: those read before, and those whose read (started
  /// now for a device never read) ends within its wait. Devices still being read are left out.
  /// An empty answer (nothing could be read) is given once and not kept: asked again, the
  /// device is read again.
  std::vector<ProbedDevice> read(const std::vector<BlockDevice>& devices);

  /// The nodes of the devices whose read has not ended, sorted.
  std::vector<std::string> pending() const;

  /// Kills the reads under way (each ends when the kernel lets it: a child in uninterruptible
  /// sleep dies on its way out) without waiting, and forgets them. Returns their devices' nodes.
  std::vector<std::string> abandon();

 private:
  struct Entry {
    std::string path, devnum;
    uint64_t size = 0;
    pid_t pid = -1;
    Fd pipe;  ///< read end; invalid once the read ended
    int64_t started_ms = 0;
    std::string bytes;  ///< what the child wrote so far
    std::vector<std::string> slots;
  };
  Entry* find(const BlockDevice& d);
  void start(const BlockDevice& d);
  void collect(int64_t until_ms);
  static void finish(Entry& e);

  Reader reader_;
  int64_t wait_ms_;
  std::vector<Entry> entries_;
};

}  // namespace zinitrd::rt
