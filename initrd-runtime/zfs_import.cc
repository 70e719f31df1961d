// zfs_import.cc: root pool import with retries and explained failures (see zfs_import.h).
#include "zfs_import.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "boot_config.h"
#include "log.h"
#include "modalias.h"
#include "module_loader.h"
#include "util.h"
#include "zfs_tools.h"

namespace zinitrd::rt {
namespace {

constexpr const char* kCacheFile = "/etc/zfs/zpool.cache";
constexpr int64_t kRetryIntervalMs = 1000;
constexpr int64_t kProgressEveryMs = 10'000;
constexpr int64_t kNoticeAfterMs = 3'000;

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

std::string block_devices() {
  auto text = read_file("/proc/partitions", 64 << 10);
  if (!text) return "unknown (/proc/partitions unreadable)";
  std::vector<std::string> names;
  for (const auto& line : split_all(*text, '\n')) {
    auto w = split_words(line);
    if (w.size() == 4 && w[0] != "major" && !starts_with(w[3], "ram") && !starts_with(w[3], "loop"))
      names.push_back(w[3]);
  }
  return names.empty() ? "none" : join(names, " ");
}

// Without udev there are no /dev/disk/by-id links, which is what most caches name: an import
// from such a cache cannot work, and costs a zpool run. Try the cache only when a device it
// names exists.
bool cache_is_useful() {
  auto bytes = read_file(kCacheFile, 4 << 20);
  if (!bytes) return false;
  for (const auto& p : cache_device_paths(*bytes))
    if (path_exists(p)) return true;
  log_debug("%s names no device that exists now; scanning instead", kCacheFile);
  return false;
}

bool pool_imported(const ZfsTools& tools, const std::string& pool) {
  auto r = tools.zpool({"list", "-H", "-o", "name", pool});
  return r && r->ok();
}

std::vector<std::string> import_args(const ImportContext& ctx, bool cache,
                                     const std::string& pool) {
  std::vector<std::string> args{"import", "-N"};
  if (ctx.force) args.push_back("-f");
  if (cache) {
    args.push_back("-c");
    args.push_back(kCacheFile);
  }
  args.push_back(pool);
  return args;
}

// Waits up to MS for devices (loading drivers of hotplugged ones).
void wait_for_devices(const ImportContext& ctx, int64_t ms) {
  if (ctx.hotplug && ctx.loader)
    ctx.hotplug->poll(ms, *ctx.config, *ctx.loader);
  else
    sleep_ms(ms);
}

Failure import_failure(const ProcessResult& run, const ImportDiagnosis& d, const std::string& pool,
                       int64_t waited_ms) {
  std::string summary = "cannot import the root pool '" + pool + "'";
  if (d.retry) summary += " (waited " + format_seconds(waited_ms) + ")";
  Failure f = ZfsTools::failure("import", summary, run);
  for (auto& h : import_hints(d, pool, describe_our_hostid())) f.hints.push_back(std::move(h));
  if (d.problem == ImportProblem::kNoSuchPool || d.problem == ImportProblem::kDevicesMissing)
    f.hints.push_back("disks the kernel sees now: " + block_devices());
  f.retryable = d.retry;
  return f;
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

std::vector<std::string> parse_import_listing(std::string_view output) {
  std::vector<std::string> pools;
  for (const auto& line : split_all(output, '\n')) {
    std::string_view l = trim(line);
    if (!starts_with(l, "pool:")) continue;
    std::string name(trim(l.substr(5)));
    if (name.empty()) continue;
    bool dup = false;
    for (const auto& p : pools) dup |= p == name;
    if (!dup) pools.push_back(std::move(name));
  }
  return pools;
}

std::vector<std::string> cache_device_paths(std::string_view bytes) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = bytes.find("/dev/", pos)) != std::string_view::npos) {
    size_t end = pos;
    while (end < bytes.size() && bytes[end] > 0x20 && bytes[end] < 0x7f) ++end;
    std::string path(bytes.substr(pos, end - pos));
    if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
    pos = end;
  }
  return out;
}

std::string describe_our_hostid() {
  auto param = read_file("/sys/module/spl/parameters/spl_hostid", 64);
  if (param) {
    unsigned long v = strtoul(std::string(trim(*param)).c_str(), nullptr, 0);
    if (v != 0) return format_hostid(static_cast<uint32_t>(v)) + " (from spl.spl_hostid)";
  }
  auto file = read_file("/etc/hostid", 64);
  if (!file) return "00000000 (no /etc/hostid in the image)";
  if (file->size() < 4) return "00000000 (/etc/hostid is shorter than 4 bytes)";
  const auto* b = reinterpret_cast<const unsigned char*>(file->data());
  uint32_t v = static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 |
               static_cast<uint32_t>(b[2]) << 16 | static_cast<uint32_t>(b[3]) << 24;
  return format_hostid(v) + " (from /etc/hostid)";
}

std::string read_bootfs(const ZfsTools& tools, const std::string& pool) {
  auto r = tools.zpool({"get", "-H", "-o", "value", "bootfs", pool});
  if (!r || !r->ok()) return {};
  std::string v(trim(r->output));
  return v == "-" ? std::string() : v;
}

std::optional<Failure> import_pool(const ImportContext& ctx, const std::string& pool) {
  const ZfsTools& tools = *ctx.tools;
  const int64_t start = monotonic_ms();
  int64_t next_progress = start + kProgressEveryMs;
  bool announced = false, noticed = false;
  for (int attempt = 0;; ++attempt) {
    // The cache file is a hint: it names the pool's devices, so no scan is needed. A stale cache
    // must not matter, so any failure falls through to a scan.
    if (attempt == 0 && cache_is_useful()) {
      auto r = tools.zpool(import_args(ctx, true, pool));
      if (!r) return ZfsTools::failure("import", "cannot run zpool", r.error());
      if (r->ok()) {
        log_info("imported pool '%s' using %s", pool.c_str(), kCacheFile);
        return std::nullopt;
      }
      log_debug("import of '%s' from %s failed (%s); scanning the devices instead", pool.c_str(),
                kCacheFile, r->describe().c_str());
    }
    auto r = tools.zpool(import_args(ctx, false, pool));
    if (!r) return ZfsTools::failure("import", "cannot run zpool", r.error());
    if (r->ok()) {
      log_info("imported pool '%s'", pool.c_str());
      return std::nullopt;
    }
    ImportDiagnosis d = classify_import_error(r->output, r->exit_code, r->timed_out);
    // An imported pool is not "available" to import: it may have been imported in the rescue
    // shell. Asked once, not before every try: zpool's start-up costs a fraction of a second.
    if ((d.problem == ImportProblem::kAlreadyImported ||
         (attempt == 0 && d.problem == ImportProblem::kNoSuchPool)) &&
        pool_imported(tools, pool)) {
      log_info("pool '%s' is already imported", pool.c_str());
      return std::nullopt;
    }
    const int64_t now = monotonic_ms();
    const bool expired = ctx.timeout_ms > 0 && now - start >= ctx.timeout_ms;
    if (!d.retry || expired) return import_failure(*r, d, pool, now - start);
    // Disks commonly appear a moment after zfs.ko is loaded: say nothing on the console (which
    // `quiet` keeps clean) unless the wait becomes noticeable.
    if (!announced) {
      announced = true;
      log_info("pool '%s' not found yet; waiting for its disks (%s)", pool.c_str(),
               ctx.timeout_ms > 0 ? ("up to " + format_seconds(ctx.timeout_ms)).c_str()
                                  : "rd.timeout=0: no time limit");
    } else if (!noticed && now - start >= kNoticeAfterMs) {
      noticed = true;
      if (ctx.timeout_ms > 0)
        log_notice("waiting up to %s for the disks of pool '%s'...",
                   format_seconds(ctx.timeout_ms).c_str(), pool.c_str());
      else
        log_notice("waiting for the disks of pool '%s' (rd.timeout=0: no time limit)...",
                   pool.c_str());
    } else if (now >= next_progress) {
      next_progress = now + kProgressEveryMs;
      log_notice("still waiting for pool '%s' (%s so far; disks: %s)", pool.c_str(),
                 format_seconds(now - start).c_str(), block_devices().c_str());
    }
    wait_for_devices(ctx, kRetryIntervalMs);
  }
}

std::optional<Failure> import_bootfs_pool(const ImportContext& ctx, std::string& pool,
                                          std::string& bootfs) {
  const ZfsTools& tools = *ctx.tools;
  const int64_t start = monotonic_ms();
  bool announced = false;
  std::optional<Failure> last_failure;
  for (int attempt = 0;; ++attempt) {
    // Pools imported already (by a previous try or in the rescue shell) come first.
    auto listed = tools.zpool({"list", "-H", "-o", "name"});
    if (!listed) return ZfsTools::failure("import", "cannot run zpool", listed.error());
    for (const auto& name : split_words(listed->ok() ? listed->output : "", "\n")) {
      std::string b = read_bootfs(tools, name);
      if (!b.empty()) {
        pool = name;
        bootfs = b;
        return std::nullopt;
      }
    }
    std::vector<std::string> candidates;
    std::vector<std::string> sources{"scan"};
    if (attempt == 0 && cache_is_useful()) sources.insert(sources.begin(), "cache");
    ProcessResult last_listing;
    for (const auto& src : sources) {
      std::vector<std::string> args{"import"};
      if (src == "cache") args.insert(args.end(), {"-c", kCacheFile});
      auto r = tools.zpool(args);
      if (!r) return ZfsTools::failure("import", "cannot run zpool", r.error());
      last_listing = *r;
      for (auto& c : parse_import_listing(r->output)) {
        bool dup = false;
        for (const auto& o : candidates) dup |= o == c;
        if (!dup) candidates.push_back(std::move(c));
      }
    }
    bool any_imported = false;
    for (const auto& cand : candidates) {
      auto r = tools.zpool(import_args(ctx, false, cand));
      if (!r) return ZfsTools::failure("import", "cannot run zpool", r.error());
      if (!r->ok()) {
        ImportDiagnosis d = classify_import_error(r->output, r->exit_code, r->timed_out);
        log_warning("pool '%s' cannot be imported (%s); trying the others", cand.c_str(),
                    r->describe().c_str());
        last_failure = import_failure(*r, d, cand, monotonic_ms() - start);
        continue;
      }
      any_imported = true;
      std::string b = read_bootfs(tools, cand);
      if (!b.empty()) {
        log_info("pool '%s' has bootfs=%s", cand.c_str(), b.c_str());
        pool = cand;
        bootfs = b;
        return std::nullopt;
      }
      log_info("pool '%s' has no bootfs; exporting it again", cand.c_str());
      auto ex = tools.zpool({"export", cand});
      if (ex && !ex->ok())
        log_warning("zpool export %s failed: %s", cand.c_str(), ex->output.c_str());
    }
    const int64_t now = monotonic_ms();
    const bool expired = ctx.timeout_ms > 0 && now - start >= ctx.timeout_ms;
    if (any_imported || expired ||
        (!candidates.empty() && last_failure && !last_failure->retryable)) {
      if (last_failure) {
        // The pool that failed may be the one with bootfs: its failure is what matters.
        if (any_imported)
          last_failure->hints.push_back(
              "the other pools that could be imported have no bootfs property set");
        return last_failure;
      }
      Failure f;
      f.stage = "import";
      f.command = last_listing.command;
      f.output = last_listing.output;
      f.status = last_listing.describe();
      if (candidates.empty()) {
        f.summary = "no ZFS pool appeared within " + format_seconds(now - start) +
                    " (root=zfs:AUTO looks for the pool whose bootfs is set)";
        f.hints.push_back("disks the kernel sees now: " + block_devices());
        f.hints.push_back(
            "if the disk needs a driver the image lacks, rebuild the image with it; "
            "for slow disks add rd.timeout=120");
      } else {
        f.summary =
            "none of the pools (" + join(candidates, ", ") + ") has its bootfs property set";
        f.hints.push_back("name the root on the kernel command line: root=zfs:POOL/DATASET");
        f.hints.push_back("or set it once: zpool set bootfs=POOL/ROOT/NAME POOL");
      }
      f.retryable = candidates.empty();
      return f;
    }
    if (!announced) {
      announced = true;
      log_notice("waiting for a pool with bootfs set (root=zfs:AUTO)...");
    }
    wait_for_devices(ctx, kRetryIntervalMs);
  }
}

}  // namespace zinitrd::rt
