// check.h: `zinitrd check`, the boot chain of a ZFS root checked before a reboot.
//
// Every item is a pure function of facts (text a command printed, bytes of a file, the members of
// an image), so the unit tests feed fixtures; gather_facts() is the only part that reaches the
// host, through a root path, a kernel release and a CommandRunner the tests replace. Pool checks
// need the zfs module loaded on the host (`zpool`/`zfs` say "The ZFS modules are not loaded"
// otherwise): then they report kUnknown with the reason instead of failing.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image_reader.h"

namespace zinitrd::gen {

/// The verdict of one item.
enum class CheckState {
  kOk,       ///< fine
  kWarn,     ///< the machine boots, but something deserves attention
  kFail,     ///< the machine would not boot (or not without a manual step)
  kUnknown,  ///< could not be checked on this host; the detail says why
};

/// "ok", "warn", "fail", "unknown".
const char* check_state_name(CheckState state);

/// One line of the checklist.
struct CheckItem {
  std::string id;  ///< stable key for --json ("zfs-module", "image-hostid", ...)
  CheckState state = CheckState::kUnknown;
  std::string detail;  ///< what was found
  std::string fix;     ///< what to do about it (empty when ok)
};

/// What a command printed and how it ended; ran = false when it could not be started.
struct CommandOutput {
  bool ran = false;
  int status = -1;  ///< exit status (128+N for signal N)
  std::string out;  ///< standard output (standard error is discarded)
};

/// Runs ARGV (argv[0] looked up in PATH) and captures its standard output.
using CommandRunner = std::function<CommandOutput(const std::vector<std::string>& argv)>;

/// The real runner: fork/exec with a pipe, stdin and stderr on /dev/null, C locale.
CommandOutput run_command(const std::vector<std::string>& argv);

/// One kernel module of zfs.ko's dependency closure, as libkmod sees it.
struct ModuleFact {
  std::string name;
  std::string path;      ///< in-root path of the .ko, empty when not found
  std::string vermagic;  ///< from .modinfo
  bool builtin = false;  ///< built into the kernel (no file needed)
};

// ---- parsers of command output and files (pure) ----

/// The state `dkms status -k KVER` gives MODULE ("installed", "built", "added", with any
/// "(WARNING! ...)" suffix kept), or "" when it does not list MODULE. Accepts the dkms 3
/// (`zfs/2.1.11, KVER, x86_64: installed`) and dkms 2 (`zfs, 2.1.11, KVER, x86_64: installed`)
/// formats; a line for another kernel is ignored.
std::string parse_dkms_state(std::string_view status_output, std::string_view module,
                             std::string_view kver);
/// The hostid stored in the 4 bytes of /etc/hostid (native byte order, as glibc's gethostid()).
std::optional<uint32_t> parse_hostid_file(std::string_view bytes);
/// Pool names at the top level of `zdb -C` output (lines "NAME:" at column 0).
std::vector<std::string> parse_zdb_pools(std::string_view zdb_output);
/// The `hostid:` of POOL in `zdb -C` output, if listed.
std::optional<uint32_t> parse_zdb_hostid(std::string_view zdb_output, std::string_view pool);
/// "2.1.11" from "zfs-2.1.11-1", "2.1.11-1+deb12u1", "zfs-kmod-2.2.0-rc1": the upstream version.
std::string upstream_version(std::string_view version);
/// True when the kernel command line asks for the pool's `bootfs` (root=zfs:AUTO, root=zfs,
/// root=zfs:, zfs=auto, zfs=bootfs: the forms of the README's table).
bool cmdline_wants_bootfs(std::string_view cmdline);

// ---- the items (pure) ----

/// zfs.ko and its dependencies present for KVER, each built for KVER (vermagic).
/// LOOKUP_ERROR is set when the modules index of KVER could not be read at all.
CheckItem check_zfs_module(std::string_view kver, const std::vector<ModuleFact>& modules,
                           std::string_view lookup_error);
/// DKMS's view of zfs for KVER; STATUS_OUTPUT is null when dkms is not installed.
CheckItem check_dkms(std::string_view kver, const std::optional<std::string>& status_output,
                     bool module_present);
/// The userland (`zfs version` or the package) against zfs.ko's version.
CheckItem check_versions(std::string_view module_version, std::string_view userland_version);
/// /etc/hostid present and non-zero, and equal to the hostid POOL was last imported under
/// (POOL_HOSTID, when it could be read).
CheckItem check_hostid(const std::optional<std::string>& hostid_file,
                       std::optional<uint32_t> pool_hostid, std::string_view pool);

/// What the host knows about its pools, for the root and cache items.
struct PoolFacts {
  std::string unusable;               ///< why zpool/zfs cannot answer (module not loaded), or ""
  std::vector<std::string> imported;  ///< `zpool list -H -o name`
  std::string root_dataset;           ///< the mounted root's dataset, "" when / is not ZFS
  bool root_dataset_exists = false;   ///< `zfs list` found it
  bool wants_bootfs = false;          ///< the command line boots the pool's bootfs
  std::string bootfs;                 ///< bootfs of the root pool ("-" or "" when unset)
  bool bootfs_exists = false;         ///< `zfs list` found the bootfs dataset
  std::optional<std::string> cache;   ///< `zdb -C` of zpool.cache; null when there is no cache
};

/// The root dataset (or the bootfs the command line asks for) exists.
CheckItem check_root_dataset(const PoolFacts& pools);
/// zpool.cache lists no pool that is not imported.
CheckItem check_zpool_cache(const PoolFacts& pools);

/// What is known about the image of a kernel.
struct ImageFacts {
  std::string path;  ///< where it should be
  bool exists = false;
  std::string read_error;  ///< list_image failed (corrupt image)
  std::vector<ImageMember> members;
  int64_t mtime = 0;                       ///< of the image
  int64_t module_mtime = 0;                ///< newest of the zfs closure's .ko files, 0 if unknown
  std::optional<std::string> hostid;       ///< the image's /etc/hostid content
  std::optional<std::string> host_hostid;  ///< the host's /etc/hostid content
};

/// The image items: exists and readable, newer than zfs.ko, contains zfs.ko, the host's hostid
/// and the runtime.
std::vector<CheckItem> check_image(std::string_view kver, const ImageFacts& image);

// ---- the whole check ----

/// What `zinitrd check` looks at.
struct CheckOptions {
  std::string root = "/";  ///< the system (fixture trees in tests)
  std::string kver;        ///< kernel release
  std::string image;       ///< image path; "" for /boot/initrd.img-KVER or /boot/initramfs-KVER.img
};

/// Gathers every fact (reading files under ROOT and running commands through RUN) and evaluates
/// all items, in boot-chain order.
std::vector<CheckItem> run_checks(const CheckOptions& options, const CommandRunner& run);

/// The checklist for humans: one line per item, with its fix below it.
std::string format_check_text(std::string_view kver, const std::vector<CheckItem>& items);
/// The checklist as one JSON object: {"kver":..., "ok":bool, "items":[{id,state,detail,fix}]}.
std::string format_check_json(std::string_view kver, const std::vector<CheckItem>& items);
/// 1 when any item fails (the machine would not boot), else 0.
int check_exit_status(const std::vector<CheckItem>& items);

}  // namespace zinitrd::gen
