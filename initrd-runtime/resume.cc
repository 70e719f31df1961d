// resume.cc: resuming a hibernated system (see resume.h).
#include "resume.h"

#include <unistd.h>

#include <cstdio>

#include "block_devices.h"
#include "device_scan.h"
#include "log.h"
#include "partition_uuid.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

// swap_header's info part: after 1024 boot bytes, version, last_page and nr_badpages (u32 each),
// then the UUID and the label.
constexpr size_t kUuidOffset = 1024 + 12, kLabelOffset = kUuidOffset + 16, kLabelSize = 16;

// The last ten bytes of the first page: "SWAPSPACE2" for a swap area, a hibernation image's
// signature once one was written (the kernel's "S1SUSPEND", uswsusp's "ULSUSPEND", older
// kernels' "S2SUSPEND"), each NUL-padded to ten.
bool signature_is(std::string_view sig, std::string_view want) {
  return sig.substr(0, want.size()) == want &&
         sig.find_first_not_of('\0', want.size()) == std::string_view::npos;
}

std::string format_uuid(std::string_view b) {
  if (b.find_first_not_of('\0') == std::string_view::npos) return {};
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(b[i]));
    out += hex;
  }
  return out;
}

}  // namespace

std::optional<SwapHeader> parse_swap_header(std::string_view page) {
  if (page.size() < 4096 || page.size() % 4096 != 0) return std::nullopt;
  std::string_view sig = page.substr(page.size() - 10);
  SwapHeader h;
  if (signature_is(sig, "S1SUSPEND") || signature_is(sig, "S2SUSPEND") ||
      signature_is(sig, "ULSUSPEND"))
    h.hibernated = true;
  else if (!signature_is(sig, "SWAPSPACE2"))
    return std::nullopt;
  h.uuid = format_uuid(page.substr(kUuidOffset, 16));
  std::string_view label = page.substr(kLabelOffset, kLabelSize);
  h.label = std::string(label.substr(0, label.find('\0')));
  return h;
}

ResumeDevice parse_resume_device(std::string_view spec) {
  using K = ResumeDevice::Kind;
  std::string s(trim(spec));
  if (s.empty() || s == "none") return {};
  auto after = [&](std::string_view p) { return s.substr(p.size()); };
  if (starts_with(s, "UUID=")) return {K::kUuid, to_lower(after("UUID="))};
  if (starts_with(s, "LABEL=")) return {K::kLabel, after("LABEL=")};
  if (starts_with(s, "/dev/disk/by-uuid/"))
    return {K::kUuid, to_lower(after("/dev/disk/by-uuid/"))};
  if (starts_with(s, "/dev/disk/by-label/")) return {K::kLabel, after("/dev/disk/by-label/")};
  for (std::string_view prefix : {"PARTUUID=", "/dev/disk/by-partuuid/"}) {
    if (!starts_with(s, prefix)) continue;
    std::string v = to_lower(after(prefix));
    if (v.empty() || v.find('/') != std::string::npos) return {K::kUnsupported, s};  // PARTNROFF=
    return {K::kPartUuid, v};
  }
  if (starts_with(s, "PARTLABEL=")) return {K::kPartLabel, after("PARTLABEL=")};
  if (starts_with(s, "/dev/disk/by-partlabel/"))
    return {K::kPartLabel, after("/dev/disk/by-partlabel/")};
  if (starts_with(s, "/dev/disk/")) return {K::kUnsupported, s};  // by-id, by-path: udev's names
  if (starts_with(s, "/dev/") && s.find('/', 5) == std::string::npos && s.size() > 5)
    return {K::kName, after("/dev/")};
  unsigned major = 0, minor = 0;
  char rest = 0;
  if (std::sscanf(s.c_str(), "%u:%u%c", &major, &minor, &rest) == 2)
    return {K::kNumber, std::to_string(major) + ":" + std::to_string(minor)};
  return {K::kUnsupported, s};  // a bare hex number, /dev/mapper/...
}

bool resume_device_matches(const ResumeDevice& d, const BlockDevice& b, const std::string& partuuid,
                           const SwapHeader& header) {
  using K = ResumeDevice::Kind;
  switch (d.kind) {
    case K::kUuid:
      return !header.uuid.empty() && header.uuid == d.value;
    case K::kLabel:
      return !header.label.empty() && header.label == d.value;
    case K::kPartUuid:
      return b.partn > 0 && !partuuid.empty() && partuuid == d.value;
    case K::kPartLabel:
      return b.partn > 0 && !b.partname.empty() && b.partname == d.value;
    case K::kName:
      return b.name == d.value;
    case K::kNumber:
      return b.devnum == d.value;
    case K::kNone:
    case K::kUnsupported:
      return false;
  }
  return false;
}

std::optional<FoundSwap> find_resume_device(const ResumeDevice& d, const std::string& sys_block,
                                            const std::string& dev_dir, DeviceProbe& probe) {
  const long page = ::sysconf(_SC_PAGESIZE) > 0 ? ::sysconf(_SC_PAGESIZE) : 4096;
  for (const ScannedDevice& s : scan_devices(block_devices(sys_block, dev_dir), probe)) {
    const BlockDevice& b = s.device;
    // The scans' read holds a page of 4 or 16 KiB; a larger page is read here.
    const size_t len = static_cast<size_t>(page);
    auto header =
        parse_swap_header(len <= kDeviceStartBytes ? std::string_view(s.start).substr(0, len)
                                                   : std::string_view(read_start(b.path, len)));
    if (!header) continue;
    std::string partuuid;
    if (d.kind == ResumeDevice::Kind::kPartUuid && b.partn > 0)
      if (auto disk = partition_disk(b.name, sys_block, dev_dir))
        partuuid = partition_uuid(
            [&](uint64_t offset, size_t length) { return read_at(disk->path, offset, length); },
            b.partn, disk->sector);
    if (resume_device_matches(d, b, partuuid, *header)) return FoundSwap{b.name, b.devnum, *header};
  }
  return std::nullopt;
}

void resume_from_hibernation(const std::string& spec, bool noresume,
                             const std::function<void(const std::function<bool()>&)>& settle) {
  ResumeDevice d = parse_resume_device(spec);
  if (d.kind == ResumeDevice::Kind::kNone) return;
  // The device once the disks have settled (or as soon as it is there).
  auto wait_for_device = [&]() -> std::optional<FoundSwap> {
    std::optional<FoundSwap> found;
    settle([&] { return (found = find_resume_device(d)).has_value(); });
    return found ? found : find_resume_device(d);
  };
  if (noresume) {
    // The image stays where it is (nothing here writes to it), but the pool is imported now:
    // resumed by a later boot, it would write the pool from an older past. Said, if it is there
    // (looked for as for resuming: a disk probed late would hide it otherwise).
    auto f = d.kind == ResumeDevice::Kind::kUnsupported ? std::nullopt : wait_for_device();
    if (f && f->header.hibernated)
      log_warning(
          "noresume: the hibernation image on /dev/%s is left as it is, and the pool is "
          "imported now: that image must never be resumed; `mkswap /dev/%s` (or swapon, "
          "which does it) before booting without noresume",
          f->name.c_str(), f->name.c_str());
    else
      log_info("noresume: not resuming from %s", spec.c_str());
    return;
  }
  if (d.kind == ResumeDevice::Kind::kUnsupported) {
    log_warning(
        "resume=%s: not a device this initramfs can find (UUID=, LABEL=, PARTUUID=, "
        "PARTLABEL=, /dev/NAME or MAJOR:MINOR of the swap area); not resuming: a hibernated "
        "session is lost",
        spec.c_str());
    return;
  }
  if (!path_exists("/sys/power/resume")) {
    log_warning("the kernel cannot resume (no /sys/power/resume): not resuming from %s",
                spec.c_str());
    return;
  }
  std::optional<FoundSwap> found = wait_for_device();
  if (!found) {
    log_warning(
        "the resume device %s is not here once the disks have settled: not resuming "
        "(a hibernated session on it is lost; the boot goes on)",
        spec.c_str());
    return;
  }
  if (!found->header.hibernated) {
    log_debug("no hibernation image on /dev/%s (%s)", found->name.c_str(), spec.c_str());
    return;
  }
  log_notice("resuming the hibernated system from /dev/%s (%s), before any pool is imported",
             found->name.c_str(), found->devnum.c_str());
  Status st = write_file("/sys/power/resume", found->devnum + "\n");
  // Back here only when the kernel did not resume: its reason is in the kernel log.
  log_warning(
      "the kernel did not resume from /dev/%s (%s; `dmesg | grep PM:` says why): booting "
      "afresh, the hibernated session is lost",
      found->name.c_str(), st ? "it refused the image" : st.error().message.c_str());
}

}  // namespace zinitrd::rt
