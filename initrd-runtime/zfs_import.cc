// zfs_import.cc: the root pool's import ladder (see zfs_import.h).
#include "zfs_import.h"

#include <algorithm>
#include <cerrno>

#include "dev_links.h"
#include "log.h"
#include "modalias.h"
#include "module_loader.h"
#include "util.h"
#include "zfs_import_ioctl.h"
#include "zfs_label.h"
#include "zfs_member.h"
#include "zfs_tools.h"

namespace zinitrd::rt {
namespace {

constexpr const char* kCacheFile = "/etc/zfs/zpool.cache";
constexpr const char* kVdevOpenTimeout = "/sys/module/zfs/parameters/zfs_vdev_open_timeout_ms";
constexpr int64_t kRetryIntervalMs = 1000;
constexpr int64_t kProgressEveryMs = 10'000;
constexpr int64_t kNoticeAfterMs = 3'000;

std::string partitions_seen() {
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

// Without udev there are no /dev/disk/by-id links, which is what most caches name: a listing
// from such a cache finds nothing, and costs a zpool run. Use the cache only when a device it
// names exists.
bool cache_is_useful() {
  auto bytes = read_file(kCacheFile, 4 << 20);
  if (!bytes) return false;
  for (const auto& p : cache_device_paths(*bytes))
    if (path_exists(p)) return true;
  log_debug("%s names no device that exists now; scanning instead", kCacheFile);
  return false;
}

// Waits up to MS for devices (loading drivers of hotplugged ones).
void wait_for_devices(const ImportContext& ctx, int64_t ms) {
  if (ctx.hotplug && ctx.loader)
    ctx.hotplug->poll(ms, *ctx.config, *ctx.loader);
  else
    sleep_ms(ms);
}

// The devices that carry a ZFS label: before there is one, `zpool import` can only list nothing
// (and costs a second under emulation).
std::vector<MemberDevice> members(int attempt) {
  auto found = zfs_member_devices();
  if (attempt == 0) {
    std::vector<std::string> paths;
    for (const auto& m : found) paths.push_back(m.path);
    if (paths.empty())
      log_debug("no block device carries a ZFS label yet; waiting for one");
    else
      log_debug("ZFS labels on %s", join(paths, " ").c_str());
  }
  return found;
}

// The labels of the devices that carry one.
std::vector<LabelledDevice> read_labels(const std::vector<MemberDevice>& found) {
  std::vector<LabelledDevice> labelled;
  for (const auto& m : found)
    if (auto l = read_zfs_label(m.path, m.size)) labelled.push_back({m.path, std::move(*l)});
  return labelled;
}

// True when the labels present show WANTED complete and importable straight away.
bool complete_in_labels(const std::string& wanted) {
  return plan_direct_import(read_labels(zfs_member_devices()), wanted, our_hostid()).has_value();
}

// The paths to point zpool at for DEVICES (their /dev nodes): the /dev/disk/by-* link each one's
// label records, made here as for the import ioctl (dev_links.h), else the node. zpool keeps the
// path it found a member by when that is the one the pool records, so `zpool status` on the
// booted system shows the names the pool was created with, not /dev/sdX.
// LABELLED: the labels already read.
std::vector<std::string> zpool_device_args(const std::vector<std::string>& devices,
                                           const std::vector<LabelledDevice>& labelled) {
  std::vector<std::string> out;
  for (const auto& dev : devices) {
    std::string chosen = dev;
    for (const auto& l : labelled)
      if (l.path == dev)
        if (auto recorded = recorded_leaf_path(l.label)) chosen = leaf_device_path(*recorded, dev);
    out.insert(out.end(), {"-d", chosen});
  }
  return out;
}

// Adds the pool's hot spares and cache devices to CONFIG when a device here carries such a
// label, or its dRAID has distributed spares (zfs_import_ioctl.h's add_aux_devices): only then
// is the pool tried first, as zpool always does, for the lists its MOS keeps (the import keeps
// only the lists its config gives); the trial failing leaves them to the kernel.
void include_aux_devices(NvList& config, const LeafPath& leaf_path) {
  AuxDevices aux;
  for (const auto& d : zfs_aux_devices())
    if (auto l = read_aux_label(d.path, d.size)) aux.emplace(l->guid, d.path);
  if (aux.empty() && !has_distributed_spares(config)) return;
  // The trial opens them at the paths the MOS records, links that are made only after it: the
  // kernel would retry each missing one for zfs_vdev_open_timeout_ms (1 s, for udev's sake;
  // nothing makes them meanwhile here). One try each, then the setting as it was.
  auto timeout = read_file(kVdevOpenTimeout, 64);
  if (timeout) (void)write_file(kVdevOpenTimeout, "1\n");
  auto tried = try_import(config);
  if (timeout) (void)write_file(kVdevOpenTimeout, *timeout);
  if (!tried) {
    log_debug("no trial import for the pool's spares and cache devices (%s)",
              tried.error().message.c_str());
    return;
  }
  const size_t n = add_aux_devices(config, *tried, aux, leaf_path);
  log_debug("%zu spare and cache devices of the pool placed (%zu labelled here)", n, aux.size());
}

// Imports WANTED straight from the labels of FOUND when they show it complete and this system's
// (zfs_label.h); false when they do not, or the import failed (the ladder lists and explains).
bool import_direct(const ImportContext& ctx, const std::vector<MemberDevice>& found,
                   const std::string& wanted, std::string& name) {
  const auto labelled = read_labels(found);
  auto plan = plan_direct_import(labelled, wanted, our_hostid());
  if (!plan) {
    log_debug("the labels do not show pool '%s' complete and this system's; listing pools",
              wanted.c_str());
    return false;
  }
  // The kernel imports the config the labels give (zfs_import_ioctl.h), their /dev/disk/by-*
  // paths made here as udev would (dev_links.h); zpool, which tries the pool first, only when
  // that fails.
  const LeafPath leaf_path = [](const std::string& recorded, const std::string& dev) {
    return leaf_device_path(recorded, dev);
  };
  if (auto config = import_config(labelled, plan->pool_guid, leaf_path)) {
    include_aux_devices(*config, leaf_path);
    std::string history = "zinitrd /init: import -N" + std::string(ctx.force ? " -f" : "");
    for (const auto& d : plan->devices) history += " -d " + d;
    history += " " + std::to_string(plan->pool_guid);
    const int64_t t0 = monotonic_ms();
    Status st = import_with_ioctl(plan->name, plan->pool_guid, *config, ctx.force, history);
    if (st) {
      name = plan->name;
      // The kernel's share of the import stage (spa_import: the MOS read, the config written
      // back), apart from zinitrd's own (the wait for the disks, the labels read).
      log_info("imported pool '%s' (GUID %llu) from the labels of %s (the kernel's import: %s)",
               name.c_str(), static_cast<unsigned long long>(plan->pool_guid),
               join(plan->devices, " ").c_str(), format_seconds(monotonic_ms() - t0).c_str());
      return true;
    }
    if (st.error().errnum == EEXIST) {  // imported already (the rescue shell): the ladder says so
      log_debug("pool '%s' is imported already", wanted.c_str());
      return false;
    }
    log_info("the kernel did not import '%s' from its labels' config (%s); trying zpool",
             wanted.c_str(), st.error().message.c_str());
  }
  std::vector<std::string> args{"import", "-N"};
  if (ctx.force) args.push_back("-f");
  for (auto& a : zpool_device_args(plan->devices, labelled)) args.push_back(std::move(a));
  args.push_back(std::to_string(plan->pool_guid));
  auto r = ctx.tools->zpool(args);
  if (!r || !r->ok()) {
    log_debug("direct import of '%s' failed (%s); listing pools", wanted.c_str(),
              r ? r->describe().c_str() : r.error().message.c_str());
    return false;
  }
  name = plan->name;
  log_info("imported pool '%s' (GUID %llu) from the labels of %s with zpool", name.c_str(),
           static_cast<unsigned long long>(plan->pool_guid), join(plan->devices, " ").c_str());
  return true;
}

// The pools `zpool import` can see: from the cache file first when USE_CACHE (a hint: when it
// does not list WANTED, a scan follows), else a scan. LAST gets the last run, for messages.
Result<std::vector<PoolCandidate>> list_pools(const ImportContext& ctx, bool use_cache,
                                              const std::string& wanted, ProcessResult& last) {
  std::vector<std::vector<std::string>> tries;
  if (use_cache) tries.push_back({"import", "-c", kCacheFile});
  tries.push_back({"import"});
  std::vector<PoolCandidate> pools;
  for (const auto& args : tries) {
    auto r = ctx.tools->zpool(args);
    if (!r) return r.error();
    last = *r;
    pools = parse_import_listing(r->output);
    if (wanted.empty() || choose_pool(pools, wanted).kind != PoolChoice::kNone) break;
  }
  return pools;
}

// The name of the imported pool WANTED (name or GUID), or "" when it is not imported.
std::string imported_name(const ZfsTools& tools, const std::string& wanted) {
  auto r = tools.zpool({"list", "-H", "-o", "name,guid"});
  if (!r || !r->ok()) return {};
  for (const auto& line : split_all(r->output, '\n')) {
    auto f = split_words(line, "\t");
    if (f.size() == 2 && (f[0] == wanted || f[1] == wanted)) return f[0];
  }
  return {};
}

Failure import_failure(const ProcessResult& run, const ImportDiagnosis& d, const std::string& pool,
                       int64_t waited_ms) {
  std::string summary = "cannot import the root pool '" + pool + "'";
  if (d.retry) summary += " (waited " + format_seconds(waited_ms) + ")";
  Failure f = ZfsTools::failure("import", summary, run);
  for (auto& h : import_hints(d, pool, describe_our_hostid())) f.hints.push_back(std::move(h));
  if (d.problem == ImportProblem::kNoSuchPool || d.problem == ImportProblem::kDevicesMissing)
    f.hints.push_back("disks the kernel sees now: " + partitions_seen());
  f.retryable = d.retry;
  return f;
}

// /dev paths of the members the listing found ONLINE (zpool names them by their current path).
std::vector<std::string> online_devices(const PoolCandidate& p) {
  std::vector<std::string> out;
  for (const auto& d : p.devices) {
    bool missing = false;
    for (const auto& m : p.missing) missing |= starts_with(m, d + " ");
    std::string path = "/dev/" + d;
    if (!missing && path_exists(path)) out.push_back(path);
  }
  return out;
}

// The dataset path with its pool part replaced by GUID: what to write on the command line.
std::string with_guid(const std::string& dataset, const std::string& guid) {
  size_t slash = dataset.find('/');
  return guid + (slash == std::string::npos ? std::string() : dataset.substr(slash));
}

// Several pools carry the root pool's name and none is clearly this system's: list them all,
// with what zpool says about their last owner, and how to pick one.
Failure ambiguous_failure(const ImportContext& ctx, const PoolChoice& choice,
                          const std::string& wanted, const ProcessResult& listing) {
  Failure f;
  f.stage = "import";
  f.summary = "several pools are called '" + wanted +
              "' and none of them is clearly this system's: zinitrd will not guess";
  f.command = listing.command;
  f.output = listing.output;
  f.status = listing.describe();
  for (const auto& c : choice.candidates) {
    std::string line = "pool '" + c.name + "' " + c.describe();
    if (c.needs_force()) {
      // Without -f this import is refused before anything is written: it only tells the owner.
      auto r = ctx.tools->zpool({"import", "-N", c.guid});
      if (r) {
        ImportDiagnosis d = classify_import_error(r->output, r->exit_code, r->timed_out);
        if (!d.pool_hostid.empty() || !d.pool_host.empty())
          line += ", last used by host '" + (d.pool_host.empty() ? "?" : d.pool_host) +
                  "' hostid " + (d.pool_hostid.empty() ? "?" : d.pool_hostid);
      }
    }
    f.hints.push_back(line);
  }
  f.hints.push_back("this system's hostid is " + describe_our_hostid());
  const std::string example = ctx.dataset.empty() ? wanted : ctx.dataset;
  f.hints.push_back("boot the right one with its GUID in place of the pool name, e.g. root=zfs:" +
                    with_guid(example, choice.candidates.front().guid) +
                    " (or detach the disks of the other pools)");
  f.hints.push_back("or in the rescue shell: zpool import -N GUID, then exit");
  f.retryable = false;
  return f;
}

}  // namespace

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

std::string read_bootfs(const ZfsTools& tools, const std::string& pool) {
  auto r = tools.zpool({"get", "-H", "-o", "value", "bootfs", pool});
  if (!r || !r->ok()) return {};
  std::string v(trim(r->output));
  return v == "-" ? std::string() : v;
}

std::optional<Failure> import_pool(const ImportContext& ctx, const std::string& wanted,
                                   std::string& name) {
  const ZfsTools& tools = *ctx.tools;
  const int64_t start = monotonic_ms();
  int64_t next_progress = start + kProgressEveryMs;
  int64_t degraded_since = -1;
  bool announced = false, noticed = false, listed = false, direct_tried = false;
  // Disks commonly appear a moment after zfs.ko is loaded: say nothing on the console (which
  // `quiet` keeps clean) unless the wait becomes noticeable.
  auto say_waiting = [&](int64_t now) {
    if (!announced) {
      announced = true;
      log_info("pool '%s' not found yet; waiting for its disks (%s)", wanted.c_str(),
               ctx.timeout_ms > 0 ? ("up to " + format_seconds(ctx.timeout_ms)).c_str()
                                  : "rd.timeout=0: no time limit");
    } else if (!noticed && now - start >= kNoticeAfterMs) {
      noticed = true;
      if (ctx.timeout_ms > 0)
        log_notice("waiting up to %s for the disks of pool '%s'...",
                   format_seconds(ctx.timeout_ms).c_str(), wanted.c_str());
      else
        log_notice("waiting for the disks of pool '%s' (rd.timeout=0: no time limit)...",
                   wanted.c_str());
    } else if (now >= next_progress) {
      next_progress = now + kProgressEveryMs;
      log_notice("still waiting for pool '%s' (%s so far; disks: %s)", wanted.c_str(),
                 format_seconds(now - start).c_str(), partitions_seen().c_str());
    }
  };
  for (int attempt = 0;; ++attempt) {
    if (attempt == 0 && ctx.settle) ctx.settle([&] { return complete_in_labels(wanted); });
    if (ctx.prepare)
      if (auto f = ctx.prepare()) return f;
    const int64_t before = monotonic_ms();
    const bool expiring = ctx.timeout_ms > 0 && before - start >= ctx.timeout_ms;
    auto found = expiring ? std::vector<MemberDevice>() : members(attempt);
    if (!expiring && found.empty()) {
      // Nothing to list yet; a pool imported in the rescue shell counts all the same.
      if (attempt == 0) {
        std::string n = imported_name(tools, wanted);
        if (!n.empty()) {
          log_info("pool '%s' is already imported", n.c_str());
          name = n;
          return std::nullopt;
        }
      }
      say_waiting(before);
      wait_for_devices(ctx, kRetryIntervalMs);
      continue;
    }
    if (!expiring && !direct_tried) {
      direct_tried = true;
      if (import_direct(ctx, found, wanted, name)) return std::nullopt;
    }
    ProcessResult listing;
    auto pools = list_pools(ctx, !listed && cache_is_useful(), wanted, listing);
    if (!pools) return ZfsTools::failure("import", "cannot run zpool", pools.error());
    listed = true;
    PoolChoice choice = choose_pool(*pools, wanted);
    if (choice.kind == PoolChoice::kAmbiguous)
      return ambiguous_failure(ctx, choice, wanted, listing);
    const int64_t now = monotonic_ms();
    const bool expired = ctx.timeout_ms > 0 && now - start >= ctx.timeout_ms;
    if (choice.kind == PoolChoice::kOne) {
      const PoolCandidate& p = choice.chosen;
      // Members missing from a pool that is there: wait for them a bounded time (a disk on a
      // slower bus), then import DEGRADED. A pool that cannot be imported at all (UNAVAIL)
      // waits like an absent one, until the import timeout.
      if (p.state != "ONLINE" && !p.missing.empty() && !expired) {
        const bool importable = p.state == "DEGRADED";
        if (degraded_since < 0) {
          degraded_since = now;
          log_notice("pool '%s' is %s, missing %s: waiting up to %s for them%s", p.name.c_str(),
                     p.state.c_str(), join(p.missing, ", ").c_str(),
                     format_seconds(importable ? ctx.member_wait_ms : ctx.timeout_ms).c_str(),
                     importable ? " (rd.zfs.member_wait=SECONDS sets how long)" : "");
        }
        if (!importable || now - degraded_since < ctx.member_wait_ms) {
          wait_for_devices(ctx, kRetryIntervalMs);
          continue;
        }
      }
      std::vector<std::string> args{"import", "-N"};
      if (ctx.force) args.push_back("-f");
      // The listing found the members: point zpool at them instead of scanning every device
      // again (a second scan costs as much as the listing). A member that moved meanwhile makes
      // this fail with "no such pool", and the next round lists again.
      for (auto& a : zpool_device_args(online_devices(p), read_labels(found)))
        args.push_back(std::move(a));
      args.push_back(p.guid);
      auto r = tools.zpool(args);
      if (!r) return ZfsTools::failure("import", "cannot run zpool", r.error());
      if (r->ok()) {
        name = p.name;
        if (p.state == "ONLINE")
          log_info("imported pool '%s' (GUID %s)", name.c_str(), p.guid.c_str());
        else
          log_notice(
              "pool '%s' imported %s after waiting %s: missing %s; `zpool status %s` "
              "on the booted system tells what to replace",
              name.c_str(), p.state.c_str(),
              format_seconds(degraded_since < 0 ? 0 : now - degraded_since).c_str(),
              join(p.missing, ", ").c_str(), name.c_str());
        return std::nullopt;
      }
      ImportDiagnosis d = classify_import_error(r->output, r->exit_code, r->timed_out);
      if (!d.retry || expired) return import_failure(*r, d, p.name, now - start);
      log_debug("import of '%s' failed (%s); trying again", p.name.c_str(), r->describe().c_str());
    } else {
      // Not listed: imported already (an earlier try, the rescue shell), or not there yet.
      if (attempt == 0 || expired) {
        std::string n = imported_name(tools, wanted);
        if (!n.empty()) {
          log_info("pool '%s' is already imported", n.c_str());
          name = n;
          return std::nullopt;
        }
      }
      if (expired) {
        ImportDiagnosis d;
        d.problem = ImportProblem::kNoSuchPool;
        d.retry = true;
        Failure f = import_failure(listing, d, wanted, now - start);
        std::vector<std::string> seen;
        for (const auto& p : *pools) seen.push_back(p.name + " (GUID " + p.guid + ")");
        if (!seen.empty()) f.hints.push_back("pools that can be seen: " + join(seen, ", "));
        return f;
      }
    }
    say_waiting(now);
    wait_for_devices(ctx, kRetryIntervalMs);
  }
}

namespace {

// Imports candidate C read-only (nothing is written to a pool only looked at), reads its
// bootfs and exports it again. FORCE: -f (read-only still). Returns its bootfs ("" for none);
// PROBLEM gets why it could not be looked at.
std::string probe_bootfs(const ImportContext& ctx, const PoolCandidate& c, bool force,
                         std::optional<Failure>& problem) {
  std::vector<std::string> args{"import", "-N", "-o", "readonly=on"};
  if (force) args.push_back("-f");
  args.push_back(c.guid);
  auto r = ctx.tools->zpool(args);
  if (!r) {
    problem = ZfsTools::failure("import", "cannot run zpool", r.error());
    return {};
  }
  if (!r->ok()) {
    ImportDiagnosis d = classify_import_error(r->output, r->exit_code, r->timed_out);
    log_warning("pool '%s' (GUID %s) cannot be looked at (%s); trying the others", c.name.c_str(),
                c.guid.c_str(), r->describe().c_str());
    problem = import_failure(*r, d, c.name, 0);
    return {};
  }
  std::string b = read_bootfs(*ctx.tools, c.name);
  auto ex = ctx.tools->zpool({"export", c.name});
  if (ex && !ex->ok())
    log_warning("zpool export %s failed: %s", c.name.c_str(), ex->output.c_str());
  log_info("pool '%s' (GUID %s) %s", c.name.c_str(), c.guid.c_str(),
           b.empty() ? "has no bootfs" : ("has bootfs=" + b).c_str());
  return b;
}

}  // namespace

std::optional<Failure> import_bootfs_pool(const ImportContext& ctx, std::string& pool,
                                          std::string& bootfs) {
  const ZfsTools& tools = *ctx.tools;
  const int64_t start = monotonic_ms();
  bool announced = false, looked = false;
  for (int attempt = 0;; ++attempt) {
    // Pools imported already (by a previous try or in the rescue shell) come first.
    auto listed = tools.zpool({"list", "-H", "-o", "name"});
    if (!listed) return ZfsTools::failure("import", "cannot run zpool", listed.error());
    for (const auto& n : split_words(listed->ok() ? listed->output : "", "\n")) {
      std::string b = read_bootfs(tools, n);
      if (!b.empty()) {
        pool = n;
        bootfs = b;
        return std::nullopt;
      }
    }
    if (attempt == 0 && ctx.settle) ctx.settle(nullptr);
    if (ctx.prepare)
      if (auto f = ctx.prepare()) return f;
    if (!(ctx.timeout_ms > 0 && monotonic_ms() - start >= ctx.timeout_ms) &&
        members(attempt).empty()) {
      if (!announced) {
        announced = true;
        log_notice("waiting for a pool with bootfs set (root=zfs:AUTO)...");
      }
      wait_for_devices(ctx, kRetryIntervalMs);
      continue;
    }
    ProcessResult listing;
    auto pools = list_pools(ctx, !looked && cache_is_useful(), "", listing);
    if (!pools) return ZfsTools::failure("import", "cannot run zpool", pools.error());
    looked = true;
    // Owned pools first; pools of other systems only under zfs_force; never one in use now.
    std::vector<const PoolCandidate*> order;
    for (const auto& p : *pools)
      if (!p.needs_force() && !p.active_elsewhere()) order.push_back(&p);
    const size_t owned = order.size();
    for (const auto& p : *pools)
      if (p.needs_force() && !p.active_elsewhere() && ctx.force) order.push_back(&p);

    const PoolCandidate* winner = nullptr;
    std::optional<Failure> problem;
    if (pools->size() == 1 && owned == 1) {
      // One pool, this system's: import it as the root pool straight away.
      winner = order.front();
    } else {
      for (size_t i = 0; i < order.size() && !winner; ++i)
        if (!probe_bootfs(ctx, *order[i], i >= owned, problem).empty()) winner = order[i];
    }
    if (winner) {
      ImportContext one = ctx;
      one.force = ctx.force && winner->needs_force();  // -f only for the pool that is booted
      one.settle = nullptr;
      std::string name;
      if (auto f = import_pool(one, winner->guid, name)) return f;
      std::string b = read_bootfs(tools, name);
      if (!b.empty()) {
        log_info("pool '%s' has bootfs=%s", name.c_str(), b.c_str());
        pool = name;
        bootfs = b;
        return std::nullopt;
      }
      log_info("pool '%s' has no bootfs; exporting it again", name.c_str());
      auto ex = tools.zpool({"export", name});
      if (ex && !ex->ok())
        log_warning("zpool export %s failed: %s", name.c_str(), ex->output.c_str());
    }
    const int64_t now = monotonic_ms();
    const bool expired = ctx.timeout_ms > 0 && now - start >= ctx.timeout_ms;
    // Pools are there but none has bootfs: the one that has may sit on a slower disk, so wait
    // for more disks as long as a DEGRADED pool waits for its members, then say so.
    if ((!pools->empty() && now - start >= ctx.member_wait_ms) || expired) {
      if (problem && order.size() == 1) return problem;  // the only candidate: its own reason
      Failure f;
      f.stage = "import";
      f.command = listing.command;
      f.output = listing.output;
      f.status = listing.describe();
      if (pools->empty()) {
        f.summary = "no ZFS pool appeared within " + format_seconds(now - start) +
                    " (root=zfs:AUTO looks for the pool whose bootfs is set)";
        f.hints.push_back("disks the kernel sees now: " + partitions_seen());
        f.hints.push_back(
            "if the disk needs a driver the image lacks, rebuild the image with it; "
            "for slow disks add rd.timeout=120");
        f.retryable = true;
        return f;
      }
      std::vector<std::string> names;
      for (const auto& p : *pools) names.push_back(p.name + " (GUID " + p.guid + ")");
      f.summary = "none of the pools that could be looked at (" + join(names, ", ") +
                  ") has its bootfs property set";
      if (order.size() < pools->size())
        f.hints.push_back(
            "pools last used by another system are only looked at with zfs_force=1 on the "
            "kernel command line");
      f.hints.push_back("name the root on the kernel command line: root=zfs:POOL/DATASET");
      f.hints.push_back("or set it once: zpool set bootfs=POOL/ROOT/NAME POOL");
      f.retryable = false;
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
