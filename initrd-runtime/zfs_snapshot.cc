// zfs_snapshot.cc: snapshot, rollback and clone boots (see zfs_snapshot.h).
#include "zfs_snapshot.h"

#include <algorithm>

#include "log.h"
#include "util.h"
#include "zfs_mount.h"
#include "zfs_tools.h"

namespace zinitrd::rt {
namespace {

// Local properties a clone must not be given: encryption is inherited from the origin (zfs
// refuses otherwise), creation-time-only ones cannot be set, canmount is ours to choose.
constexpr std::string_view kNotCopied[] = {
    "canmount",      "encryption",      "keyformat", "keylocation", "pbkdf2iters",
    "normalization", "casesensitivity", "utf8only",  "volsize",     "volblocksize",
};

bool copied(std::string_view prop) {
  return std::find(std::begin(kNotCopied), std::end(kNotCopied), prop) == std::end(kNotCopied);
}

std::string parent_of(const std::string& name) {
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? std::string() : name.substr(0, slash);
}

// The snapshots of DATASET's tree, or a Failure.
std::optional<Failure> list_snapshots(const ZfsTools& tools, const std::string& dataset,
                                      std::string& out) {
  auto r = tools.zfs({"list", "-H", "-o", "name", "-t", "snapshot", "-r", dataset});
  if (!r) return ZfsTools::failure("mount", "cannot run zfs", r.error());
  if (!r->ok())
    return ZfsTools::failure("mount", "cannot list the snapshots of '" + dataset + "'", *r);
  out = r->output;
  return std::nullopt;
}

Failure missing_snapshot(const std::string& dataset, const std::string& snap,
                         const std::string& listed, const std::string& origin) {
  Failure f;
  f.stage = "mount";
  f.summary = "the snapshot '" + dataset + "@" + snap + "' (" + origin + ") does not exist";
  std::vector<std::string> mine;
  for (const auto& n : split_words(listed, "\n"))
    if (starts_with(n, dataset + "@")) mine.push_back(n.substr(dataset.size() + 1));
  f.hints.push_back(mine.empty() ? "'" + dataset + "' has no snapshots"
                                 : "snapshots of '" + dataset + "': " + join(mine, ", "));
  f.hints.push_back("fix the kernel command line in the boot loader, or boot without it");
  f.retryable = false;
  return f;
}

std::optional<Failure> rollback(const ZfsTools& tools, const std::string& dataset,
                                const std::string& snap, const std::string& origin) {
  std::string listed;
  if (auto f = list_snapshots(tools, dataset, listed)) return f;
  auto snaps = tree_snapshots(listed, dataset, snap);
  if (snaps.empty() || snaps[0] != dataset + "@" + snap)
    return missing_snapshot(dataset, snap, listed, origin);
  for (const auto& s : snaps) {
    auto r = tools.zfs({"rollback", "-r", s});
    if (!r) return ZfsTools::failure("mount", "cannot run zfs", r.error());
    if (!r->ok()) {
      Failure f =
          ZfsTools::failure("mount", "cannot roll back to '" + s + "' (" + origin + ")", *r);
      f.hints.push_back(
          "a clone of a newer snapshot prevents it: promote or destroy the clone in the rescue "
          "shell, or boot without bootfs.rollback");
      return f;
    }
  }
  log_notice("rolled back '%s' to @%s (%s; %zu datasets)", dataset.c_str(), snap.c_str(),
             origin.c_str(), snaps.size());
  return std::nullopt;
}

std::optional<Failure> snapshot(const ZfsTools& tools, const std::string& dataset,
                                const std::string& snap, const std::string& origin) {
  const std::string name = dataset + "@" + snap;
  auto r = tools.zfs({"snapshot", "-r", name});
  if (!r) return ZfsTools::failure("mount", "cannot run zfs", r.error());
  if (r->ok()) {
    log_notice("took snapshot '%s' of the root and its children (%s)", name.c_str(),
               origin.c_str());
    return std::nullopt;
  }
  if (r->output.find("already exists") != std::string::npos) {
    log_notice("snapshot '%s' already exists (an earlier boot of this kernel?); keeping it",
               name.c_str());
    return std::nullopt;
  }
  Failure f =
      ZfsTools::failure("mount", "cannot take the snapshot '" + name + "' (" + origin + ")", *r);
  f.hints.push_back("boot without bootfs.snapshot to skip it (e.g. when the pool is full)");
  return f;
}

std::optional<Failure> clone(const ZfsTools& tools, std::string& dataset, const std::string& snap,
                             const std::string& origin) {
  std::string listed;
  if (auto f = list_snapshots(tools, dataset, listed)) return f;
  auto snaps = tree_snapshots(listed, dataset, snap);
  if (snaps.empty() || snaps[0] != dataset + "@" + snap)
    return missing_snapshot(dataset, snap, listed, origin);
  auto props = tools.zfs({"get", "-H", "-o", "name,property,value", "-s", "local", "-t",
                          "filesystem", "-r", "all", dataset});
  if (!props) return ZfsTools::failure("mount", "cannot run zfs", props.error());
  if (!props->ok())
    return ZfsTools::failure("mount", "cannot read the properties of '" + dataset + "'", *props);
  const std::string target = clone_target(dataset, snap);
  auto existing = tools.zfs({"list", "-H", "-o", "name,origin", "-t", "filesystem", "-r", target});
  std::string why;
  auto plan = plan_clone(dataset, snap, snaps, props->output,
                         existing && existing->ok() ? existing->output : std::string(), why);
  if (plan.empty()) {
    Failure f;
    f.stage = "mount";
    f.summary = "cannot clone '" + dataset + "@" + snap + "' to boot it (" + origin + ")";
    f.status = why;
    f.hints.push_back("rename or destroy '" + target + "' in the rescue shell, then exit");
    f.retryable = false;
    return f;
  }
  int made = 0;
  for (const auto& step : plan) {
    if (step.exists) continue;
    std::vector<std::string> args{"clone"};
    for (const auto& [k, v] : step.props) {
      args.push_back("-o");
      args.push_back(k + "=" + v);
    }
    args.push_back(step.snapshot);
    args.push_back(step.target);
    auto r = tools.zfs(args);
    if (!r) return ZfsTools::failure("mount", "cannot run zfs", r.error());
    if (!r->ok()) {
      Failure f = ZfsTools::failure("mount", "cannot clone '" + step.snapshot + "' to boot it", *r);
      f.hints.push_back("boot the dataset itself: root=zfs:" + dataset);
      return f;
    }
    ++made;
  }
  if (made > 0)
    log_notice("created '%s', a clone of '%s@%s' with %zu datasets (canmount=noauto), to boot it",
               target.c_str(), dataset.c_str(), snap.c_str(), plan.size());
  else
    log_notice("booting '%s', the clone of '%s@%s' made by an earlier boot", target.c_str(),
               dataset.c_str(), snap.c_str());
  dataset = target;
  return std::nullopt;
}

}  // namespace

std::string snapshot_name_or_default(std::string_view requested, std::string_view kernel_release) {
  return std::string(requested.empty() ? kernel_release : requested);
}

bool valid_snapshot_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == ':' || c == '.' || c == ' '))
      return false;
  return true;
}

std::vector<std::string> tree_snapshots(std::string_view listed, const std::string& dataset,
                                        const std::string& snap) {
  std::vector<std::string> out;
  const std::string suffix = "@" + snap;
  for (const auto& line : split_all(listed, '\n')) {
    if (line.size() <= suffix.size() ||
        line.compare(line.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    std::string ds = line.substr(0, line.size() - suffix.size());
    if (ds == dataset || starts_with(ds, dataset + "/")) out.push_back(line);
  }
  return out;
}

std::string clone_target(const std::string& dataset, const std::string& snap) {
  return dataset + "_" + snap;
}

std::vector<CloneStep> plan_clone(const std::string& dataset, const std::string& snap,
                                  const std::vector<std::string>& snapshots,
                                  std::string_view local_props, std::string_view existing,
                                  std::string& why) {
  const std::string target = clone_target(dataset, snap);
  std::vector<std::pair<std::string, std::string>> origins;  // existing name -> origin
  for (const auto& line : split_all(existing, '\n')) {
    auto f = split_all(line, '\t');
    if (f.size() == 2 && !f[0].empty()) origins.emplace_back(f[0], f[1]);
  }
  std::vector<CloneStep> plan;
  for (const auto& s : snapshots) {
    std::string ds = s.substr(0, s.size() - snap.size() - 1);
    CloneStep step;
    step.snapshot = s;
    step.target = target + ds.substr(dataset.size());
    if (ds != dataset) {
      bool parent_planned = false;
      for (const auto& p : plan) parent_planned |= p.target == parent_of(step.target);
      if (!parent_planned) continue;  // its parent has no @SNAP: nowhere to put it
    }
    for (const auto& [name, origin] : origins) {
      if (name != step.target) continue;
      if (origin != s) {
        why = "'" + name + "' exists and is not a clone of '" + s + "' (its origin is " + origin +
              ")";
        return {};
      }
      step.exists = true;
    }
    step.props.emplace_back("canmount", "noauto");
    for (const auto& line : split_all(local_props, '\n')) {
      auto f = split_all(line, '\t');
      if (f.size() == 3 && f[0] == ds && copied(f[1])) step.props.emplace_back(f[1], f[2]);
    }
    plan.push_back(std::move(step));
  }
  if (plan.empty()) why = "'" + dataset + "@" + snap + "' does not exist";
  return plan;
}

std::optional<Failure> prepare_snapshot_boot(const ZfsTools& tools, const SnapshotRequest& request,
                                             const std::string& kernel_release,
                                             const KeyOptions& keys, std::string& dataset) {
  if (!request.any()) return std::nullopt;
  struct Named {
    bool asked;
    std::string name;
    const char* option;
  };
  Named rb{request.rollback, snapshot_name_or_default(request.rollback_name, kernel_release),
           "bootfs.rollback"};
  Named sn{request.snapshot, snapshot_name_or_default(request.snapshot_name, kernel_release),
           "bootfs.snapshot"};
  for (const Named* n : {&rb, &sn}) {
    if (n->asked && !valid_snapshot_name(n->name)) {
      Failure f;
      f.stage = "mount";
      f.summary = std::string(n->option) + "=" + n->name + ": not a valid snapshot name";
      f.hints.push_back("snapshot names use letters, digits and _ - : . only");
      f.retryable = false;
      return f;
    }
  }
  // Keys first: the datasets of an encrypted root are only changed with their keys loaded.
  if (auto f = load_root_keys(tools, dataset, keys)) return f;
  if (rb.asked) {
    if (auto f = rollback(tools, dataset, rb.name, std::string(rb.option) + "=" + rb.name))
      return f;
  }
  if (sn.asked) {
    if (auto f = snapshot(tools, dataset, sn.name, std::string(sn.option) + "=" + sn.name))
      return f;
  }
  if (!request.clone_from.empty())
    return clone(tools, dataset, request.clone_from,
                 "root=zfs:" + dataset + "@" + request.clone_from);
  return std::nullopt;
}

}  // namespace zinitrd::rt
