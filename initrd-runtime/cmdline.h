// cmdline.h: the kernel command line, parsed into what the user asked the boot to do.
//
// Pure code (no system calls): the string comes from /proc/cmdline and goes through the kernel's
// own tokenizer rules (next_arg() in lib/cmdline.c: double quotes group words, a quote right
// after '=' is stripped, "--" ends the kernel's part). Every root form that dracut,
// initramfs-tools, mkinitcpio, booster and ZFSBootMenu users have is accepted (see
// ../shared/REFERENCE.md); malformed values become diagnostics, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ip_param.h"
#include "luks_request.h"

namespace zinitrd::rt {

/// One kernel parameter: "key", or "key=value" (quotes removed as the kernel removes them).
struct KernelParam {
  std::string key;
  std::string value;
  bool has_value = false;

  bool operator==(const KernelParam&) const = default;
};

/// Splits CMDLINE the way the kernel does. Words after "--" are not returned (they are init's).
std::vector<KernelParam> split_kernel_cmdline(std::string_view cmdline);

/// Points where rd.break=STAGE stops the boot with a shell, in boot order.
enum class Stage {
  kCmdline,    ///< command line parsed; no module loaded yet
  kModules,    ///< the image's `load` modules and coldplug drivers are loaded
  kPreImport,  ///< hostid written, rootdelay waited: right before `zpool import`
  kPreMount,   ///< root pool imported: right before mounting /sysroot
  kPrePivot,   ///< root and early children mounted: right before switch_root
};
inline constexpr int kStageCount = 5;

/// "cmdline", "modules", "pre-import", "pre-mount", "pre-pivot".
const char* stage_name(Stage stage);
/// Our stage names, plus dracut's (pre-udev, pre-trigger, initqueue, mount, cleanup) as aliases.
std::optional<Stage> parse_stage(std::string_view name);

/// What the root= family of parameters selected.
enum class RootKind {
  kNone,     ///< no root parameter for ZFS at all
  kDataset,  ///< boot a named dataset
  kAuto,     ///< boot the `bootfs` of whichever pool has one
  kInvalid,  ///< a ZFS root was asked for but its name is malformed (see root_error)
  kForeign,  ///< root= names something that is not ZFS (see root_error)
};

/// Everything the command line asks of the boot.
struct BootRequest {
  RootKind root_kind = RootKind::kNone;
  std::string dataset;      ///< kDataset: "pool/a/b" ('+' already decoded to ' ')
  std::string pool;         ///< kDataset: the pool part of dataset
  std::string snapshot;     ///< "SNAP" of root=zfs:POOL/DS@SNAP: the clone is booted
  std::string root_origin;  ///< the parameter that chose the root, for messages
  std::string root_error;   ///< kInvalid/kForeign: why, and what to write instead

  std::string rootflags;  ///< rootflags=, as given
  /// `ro` (true) or `rw` (false), the last one given; nullopt when neither. For a ZFS root this
  /// does not decide the mount mode (see choose_root_mode in zfs_mount.h).
  std::optional<bool> kernel_read_only;
  std::string init;                       ///< init=, empty for the default (/sbin/init)
  bool force = false;                     ///< zfs_force / zfs.force / zfsforce
  std::optional<uint32_t> spl_hostid;     ///< spl_hostid=HEX: written to /etc/hostid
  std::optional<uint32_t> module_hostid;  ///< spl.spl_hostid=: passed to spl.ko
  /// MODULE.param[=value] parameters by normalised module name, each "param" or "param=value"
  /// (values containing spaces are re-quoted for the kernel's parser).
  std::map<std::string, std::vector<std::string>> module_params;
  /// modprobe.blacklist= / rd.driver.blacklist= names: not loaded for a device's modalias.
  std::vector<std::string> blacklist;
  /// module_blacklist= names: the kernel refuses to load them at all.
  std::vector<std::string> module_blacklist;

  std::vector<Stage> breaks;          ///< rd.break stages (bare rd.break = pre-pivot)
  std::optional<bool> shell;          ///< rd.shell (bare/1 = allow, 0 = never start a shell)
  std::optional<int> timeout_s;       ///< rd.timeout= seconds (0 = wait forever)
  int rootdelay_s = 0;                ///< rootdelay= seconds to wait before importing
  std::string resume;                 ///< resume=: the hibernation image's swap device (resume.h)
  bool noresume = false;              ///< noresume: never resume, whatever the image says
  std::optional<int> member_wait_s;   ///< rd.zfs.member_wait=: how long a DEGRADED pool waits
  bool debug = false;                 ///< rd.debug
  bool quiet = false;                 ///< quiet
  int loglevel = -1;                  ///< loglevel=, -1 when not given
  std::vector<std::string> consoles;  ///< console= values
  /// ip= values (ip_param.h), in order: the network that unlock over SSH brings up.
  std::vector<IpConfig> network;

  bool bootfs_snapshot = false;  ///< bootfs.snapshot[=NAME] (zfs_snapshot.h)
  std::string bootfs_snapshot_name;
  bool bootfs_rollback = false;  ///< bootfs.rollback[=NAME] (zfs_snapshot.h)
  std::string bootfs_rollback_name;

  LuksRequest luks;  ///< rd.luks=, rd.luks.uuid=, rd.luks.name=, ... (luks_request.h)

  /// zinitrd.boot_test[=1]: `zinitrd boot-test` booted this VM: stop before switch_root, print
  /// a verdict and power off (boot_check.h); rd.break is then ignored.
  bool boot_test = false;

  std::vector<std::string> diagnostics;  ///< one sentence per ignored or malformed parameter
};

/// Parses the whole command line. Never fails: problems end up in `diagnostics`.
BootRequest parse_cmdline(std::string_view cmdline);

/// True when rd.break asked to stop at STAGE.
bool wants_break(const BootRequest& request, Stage stage);

/// Decodes and checks a dataset name as given on the command line ('+' -> ' ', trailing '/'
/// removed, "@SNAP" split off). Returns false with WHY set when the name is unusable.
bool decode_dataset(std::string_view raw, std::string& dataset, std::string& snapshot,
                    std::string& why);

/// Parses yes/no words: 1/yes/y/on/true and 0/no/n/off/false (any case).
std::optional<bool> parse_bool_word(std::string_view word);

}  // namespace zinitrd::rt
