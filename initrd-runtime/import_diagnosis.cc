// import_diagnosis.cc: classifying zpool's import errors (see import_diagnosis.h).
#include "import_diagnosis.h"

#include <cctype>
#include <cstdlib>

#include "util.h"

namespace zinitrd::rt {
namespace {

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

// The hex digits right after MARKER in TEXT (a "0x" prefix skipped), or "".
std::string hex_after(std::string_view text, std::string_view marker) {
  size_t p = text.find(marker);
  if (p == std::string_view::npos) return {};
  p += marker.size();
  if (text.substr(p, 2) == "0x") p += 2;
  std::string out;
  while (p < text.size() && out.size() < 16 && isxdigit(static_cast<unsigned char>(text[p])))
    out += static_cast<char>(tolower(static_cast<unsigned char>(text[p++])));
  return out;
}

// Text between BEFORE and AFTER on the same line, or "".
std::string between(std::string_view text, std::string_view before, std::string_view after) {
  size_t p = text.find(before);
  if (p == std::string_view::npos) return {};
  p += before.size();
  size_t e = text.find(after, p);
  size_t nl = text.find('\n', p);
  if (e == std::string_view::npos || (nl != std::string_view::npos && nl < e)) return {};
  return std::string(text.substr(p, e - p));
}

}  // namespace

ImportDiagnosis classify_import_error(std::string_view out, int exit_code, bool timed_out) {
  ImportDiagnosis d;
  if (timed_out) {
    d.problem = ImportProblem::kTimedOut;
    d.retry = true;
  } else if (exit_code == 0) {
    d.problem = ImportProblem::kNone;
  } else if (exit_code == 127 || contains(out, "error while loading shared libraries") ||
             contains(out, "cannot execute")) {
    d.problem = ImportProblem::kBrokenProgram;
  } else if (contains(out, "The ZFS modules are not loaded") || contains(out, "/dev/zfs")) {
    d.problem = ImportProblem::kNoModule;
  } else if (contains(out, "previously in use from another system") ||
             contains(out, "last accessed by another system")) {
    d.problem = ImportProblem::kHostidMismatch;
    d.pool_hostid = hex_after(out, "hostid=");
    d.pool_host = between(out, "Last accessed by ", " (hostid");
  } else if (contains(out, "is imported on") || contains(out, "multihost")) {
    d.problem = ImportProblem::kActiveElsewhere;
    d.pool_hostid = hex_after(out, "hostid: ");
    if (d.pool_hostid.empty()) d.pool_hostid = hex_after(out, "hostid=");
    d.pool_host = between(out, "is imported on host '", "'");
    if (d.pool_host.empty()) d.pool_host = between(out, "pool is imported on ", " (hostid");
  } else if (contains(out, "more than one matching pool")) {
    d.problem = ImportProblem::kAmbiguous;
  } else if (contains(out, "a pool with that name already exists") ||
             contains(out, "already created/imported")) {
    d.problem = ImportProblem::kAlreadyImported;
  } else if (contains(out, "not supported by this system") ||
             contains(out, "unsupported ZFS version") || contains(out, "unsupported feature") ||
             contains(out, "newer version")) {
    d.problem = ImportProblem::kUnsupported;
  } else if (contains(out, "no such pool") || contains(out, "no pools available")) {
    d.problem = ImportProblem::kNoSuchPool;
    d.retry = true;
  } else if (contains(out, "currently unavailable") || contains(out, "insufficient replicas") ||
             contains(out, "I/O error") || contains(out, "missing device") ||
             contains(out, "one or more devices")) {
    d.problem = ImportProblem::kDevicesMissing;
    d.retry = true;
  } else {
    d.problem = ImportProblem::kOther;
  }
  return d;
}

std::vector<std::string> import_hints(const ImportDiagnosis& d, const std::string& pool,
                                      const std::string& our_hostid) {
  std::vector<std::string> h;
  const std::string in_shell = "or in the rescue shell: ";
  switch (d.problem) {
    case ImportProblem::kNone:
    case ImportProblem::kAlreadyImported:
      break;
    case ImportProblem::kHostidMismatch: {
      std::string who = d.pool_host.empty() ? "another system" : "host '" + d.pool_host + "'";
      std::string theirs = d.pool_hostid.empty() ? "unknown" : d.pool_hostid;
      h.push_back("the pool was last used by " + who + " with hostid " + theirs +
                  "; this system's hostid is " + our_hostid);
      h.push_back(
          "if no other machine is using the pool now, boot once with zfs_force=1 on the "
          "kernel command line (imports with `zpool import -f`)");
      if (!d.pool_hostid.empty())
        h.push_back("or boot with spl_hostid=0x" + d.pool_hostid +
                    " on the kernel command line to take the pool's hostid");
      else
        h.push_back(
            "or boot with spl_hostid=0xHOSTID (the pool's hostid) on the kernel command line");
      h.push_back(in_shell + "zpool import -N -f " + pool + ", then exit");
      h.push_back(
          "to fix it for good, keep /etc/hostid stable on the installed system and rebuild "
          "the image (zinitrd embeds /etc/hostid)");
      break;
    }
    case ImportProblem::kActiveElsewhere:
      h.push_back(
          "the pool has multihost=on and is imported on " +
          (d.pool_host.empty() ? std::string("another host") : "host '" + d.pool_host + "'") +
          (d.pool_hostid.empty() ? "" : " (hostid " + d.pool_hostid + ")") +
          " right now: export it there first; zfs_force=1 does not override this");
      h.push_back("this system's hostid is " + our_hostid);
      break;
    case ImportProblem::kAmbiguous:
      h.push_back("several pools are called '" + pool +
                  "': in the rescue shell run `zpool import` to see their numeric ids, then "
                  "`zpool import -N ID " +
                  pool + "` and exit; or detach the other disks");
      break;
    case ImportProblem::kUnsupported:
      h.push_back(
          "the pool uses features this image's ZFS does not know: rebuild the image "
          "with the same ZFS version as the installed system (and its kernel module)");
      break;
    case ImportProblem::kNoModule:
      h.push_back(
          "the zfs kernel module is not loaded: see the module errors above; the image "
          "must carry zfs.ko for the running kernel (dkms autoinstall, then rebuild)");
      break;
    case ImportProblem::kBrokenProgram:
      h.push_back("zpool cannot run in this image: rebuild it with zinitrd");
      break;
    case ImportProblem::kTimedOut:
      h.push_back("zpool import hung: a disk may be failing; see `dmesg` in the rescue shell");
      break;
    case ImportProblem::kNoSuchPool:
      h.push_back("no disk carrying pool '" + pool +
                  "' appeared: check the pool name on the kernel command line (`zpool import` in "
                  "the rescue shell lists the pools it can see)");
      h.push_back(
          "if the disk needs a driver the image lacks (USB, RAID, NVMe...), rebuild the image "
          "with it; for slow disks add rootdelay=10 or rd.timeout=120");
      break;
    case ImportProblem::kDevicesMissing:
      h.push_back("some devices of pool '" + pool +
                  "' are missing: check cables and the disk drivers in the image; for slow disks "
                  "add rd.timeout=120");
      h.push_back(in_shell + "`zpool import` shows which devices are missing");
      break;
    case ImportProblem::kOther:
      h.push_back("read zpool's message above; in the rescue shell try `zpool import -N " + pool +
                  "` and exit to continue the boot");
      break;
  }
  return h;
}

uint32_t our_hostid(std::string* source) {
  auto say = [&](const char* where) {
    if (source) *source = where;
  };
  auto param = read_file("/sys/module/spl/parameters/spl_hostid", 64);
  if (param) {
    unsigned long v = strtoul(std::string(trim(*param)).c_str(), nullptr, 0);
    if (v != 0) {
      say("from spl.spl_hostid");
      return static_cast<uint32_t>(v);
    }
  }
  auto file = read_file("/etc/hostid", 64);
  if (!file) {
    say("no /etc/hostid in the image");
    return 0;
  }
  if (file->size() < 4) {
    say("/etc/hostid is shorter than 4 bytes");
    return 0;
  }
  const auto* b = reinterpret_cast<const unsigned char*>(file->data());
  say("from /etc/hostid");
  return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
         static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
}

std::string describe_our_hostid() {
  std::string source;
  uint32_t v = our_hostid(&source);
  return format_hostid(v) + " (" + source + ")";
}

}  // namespace zinitrd::rt
