// microcode.h: the early-microcode segment, an uncompressed newc cpio written before the image.
//
// The kernel's early loader (arch/x86/kernel/cpu/microcode) looks for
// kernel/x86/microcode/GenuineIntel.bin and kernel/x86/microcode/AuthenticAMD.bin with
// find_cpio_data(), which walks newc headers from the very start of the initrd and stops at the
// first thing that is not one: the microcode must be in a first, uncompressed archive. The
// kernel's unpacker then needs the next archive to start 4-byte aligned ("broken padding"
// otherwise). GenuineIntel.bin is Intel's microcode files concatenated (the loader scans them
// for the newest update of this CPU's signature); AuthenticAMD.bin is AMD's container files
// concatenated (the loader walks every container).
//
// Which files: --microcode none: none. all: every file of both vendors that is installed.
// auto (the default): the vendor of this machine's CPU (/proc/cpuinfo), every file of it, or with
// --host-only only this CPU's: intel-ucode/FF-MM-SS (family, model, stepping in hex; Debian's
// intel-microcode names some FF-MM-SS.initramfs, meant for early loading only) and
// amd-ucode/microcode_amd_famXXh.bin for family 0x15 and later, microcode_amd.bin before that.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image_tree.h"
#include "result.h"
#include "root_fs.h"

namespace zinitrd::gen {

/// --microcode.
enum class MicrocodeMode { kAuto, kAll, kNone };

/// Parses "auto", "all" or "none".
Result<MicrocodeMode> parse_microcode_mode(std::string_view name);

/// One CPU as /proc/cpuinfo describes it (family and model with their extended parts added).
struct CpuId {
  std::string vendor;  ///< "GenuineIntel", "AuthenticAMD", ... ("" when unknown)
  unsigned family = 0, model = 0, stepping = 0;
};

/// The first processor of /proc/cpuinfo TEXT.
CpuId parse_cpuinfo(std::string_view text);

/// The CPU this program runs on (/proc/cpuinfo).
CpuId host_cpu();

/// The Debian package of VENDOR's microcode ("intel-microcode", "amd64-microcode"), "" for a
/// vendor without early microcode.
const char* microcode_package(std::string_view vendor);

/// Every microcode file of VENDOR in ROOT (in-root paths, sorted): Intel's FF-MM-SS[.initramfs]
/// of /lib/firmware/intel-ucode, AMD's microcode_amd*.bin of /lib/firmware/amd-ucode.
std::vector<std::string> microcode_files(const RootFs& root, std::string_view vendor);

/// The in-image path of VENDOR's blob (kernel/x86/microcode/VENDOR.bin, without a leading '/').
std::string microcode_image_path(std::string_view vendor);

/// What to select microcode for.
struct MicrocodeOptions {
  MicrocodeMode mode = MicrocodeMode::kAuto;
  bool host_only = false;  ///< auto: only this CPU's files
  /// auto for another machine (--root without --host-only): the CPU is not known and this
  /// machine's is not asked, so every vendor whose package the root has installed
  bool other_machine = false;
  std::optional<CpuId> cpu;  ///< this machine's CPU; unset = read /proc/cpuinfo (tests inject it)
};

/// One vendor's blob: the in-root files concatenated, in this order.
struct MicrocodeBlob {
  std::string vendor;                ///< "GenuineIntel" or "AuthenticAMD"
  std::vector<std::string> sources;  ///< in-root paths, sorted
};

/// The microcode an image carries, and what the user should know about what it left out.
struct MicrocodePlan {
  std::vector<MicrocodeBlob> blobs;   ///< empty: no microcode segment
  std::vector<std::string> warnings;  ///< e.g. the vendor's package is not installed
  std::string summary;                ///< one line for `zinitrd build -v`
};

/// Chooses the microcode files of ROOT for OPTIONS.
MicrocodePlan plan_microcode(const RootFs& root, const MicrocodeOptions& options);

/// Intel microcode FILE split into its updates (a 48-byte header, its total size 2048 when 0),
/// or nullopt when it is not a well-formed sequence of them.
std::optional<std::vector<std::string_view>> intel_updates(std::string_view file);

/// What microcode_tree() left out.
struct MicrocodeStats {
  size_t duplicates_dropped = 0;  ///< Intel updates already in the blob, byte for byte
  uint64_t duplicate_bytes = 0;
};

/// The early archive of PLAN: kernel/x86/microcode/VENDOR.bin per blob, with its directories.
/// An Intel update found in several files (Debian's intel-ucode has one file per signature, and
/// an update serving several signatures is in each) goes in once, as iucode_tool writes it.
Result<ImageTree> microcode_tree(const RootFs& root, const MicrocodePlan& plan,
                                 MicrocodeStats* stats = nullptr);

/// Writes TREE as an uncompressed newc archive at FD's current offset, every entry with MTIME,
/// followed by zeros up to a multiple of 4 bytes; returns the bytes written.
Result<uint64_t> write_microcode_segment(const ImageTree& tree, int64_t mtime, int fd);

}  // namespace zinitrd::gen
