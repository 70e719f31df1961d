// zfs_import_ioctl.cc: the import config from labels, and ZFS_IOC_POOL_IMPORT (see
// zfs_import_ioctl.h).
#include "zfs_import_ioctl.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "log.h"
#include "zfs_ioctl.h"

namespace zinitrd::rt {
namespace {

constexpr uint64_t kImportAnyHost = 0x2;  // ZFS_IMPORT_ANY_HOST (zpool -f)

// LEAF pointed at PATH: udev's strings (devid, phys_path, the enclosure's sysfs path) described
// the device at the old path, so they go with it, as libzutil drops them when it cannot derive
// them.
void repoint(NvList& leaf, const std::string& path) {
  leaf.set_text("path", path);
  leaf.erase("devid");
  leaf.erase("phys_path");
  leaf.erase("vdev_enc_sysfs_path");
}

// Points each leaf of TREE whose GUID is in PATHS at that device: at the path its label records
// when LEAF_PATH says that leads there (dev_links.h), else at the device itself with the strings
// udev derived dropped, as libzutil's fix_paths() and update_vdev_config_dev_strs() do when udev
// cannot describe the device.
void point_leaves(NvList& tree, const std::map<uint64_t, std::string>& paths,
                  const LeafPath& leaf_path) {
  if (auto* children = tree.lists("children"); children && !children->empty()) {
    for (auto& c : *children) point_leaves(c, paths, leaf_path);
    return;
  }
  auto guid = tree.number("guid");
  if (!guid) return;
  auto it = paths.find(*guid);
  if (it == paths.end()) return;
  const std::string recorded = tree.text("path").value_or("");
  const std::string chosen = leaf_path ? leaf_path(recorded, it->second) : it->second;
  if (!recorded.empty() && chosen == recorded && recorded != it->second) return;  // kept as is
  repoint(tree, chosen);
}

}  // namespace

std::optional<NvList> import_config(const std::vector<LabelledDevice>& devices, uint64_t pool_guid,
                                    const LeafPath& leaf_path) {
  const ZfsLabel* newest = nullptr;
  for (const auto& d : devices)
    if (d.label.pool_guid == pool_guid && (!newest || d.label.txg > newest->txg)) newest = &d.label;
  if (!newest) return std::nullopt;
  std::map<uint64_t, const ZfsLabel*> top_level;  // by vdev id: the newest label of each
  std::map<uint64_t, std::string> paths;          // leaf GUID -> the device its label is on
  for (const auto& d : devices) {
    const ZfsLabel& l = d.label;
    if (l.pool_guid != pool_guid || stale_label(l, *newest)) continue;
    const NvList* tree = l.config.list("vdev_tree");
    const std::optional<uint64_t> id = tree ? tree->number("id") : std::nullopt;
    if (!id) return std::nullopt;
    auto& best = top_level[id.value_or(0)];
    if (!best || l.txg > best->txg) best = &l;
    paths.emplace(l.guid, d.path);
  }
  const NvList& src = newest->config;
  if (!src.number("version") || !src.text("name") || !src.number("state")) return std::nullopt;

  NvList config;
  config.set_number("vdev_children", newest->vdev_children);
  config.set_number("version", *src.number("version"));
  config.set_number("pool_guid", pool_guid);
  config.set_text("name", *src.text("name"));
  if (auto c = src.text("comment")) config.set_text("comment", *c);
  if (auto c = src.text("compatibility")) config.set_text("compatibility", *c);
  config.set_number("state", *src.number("state"));
  if (auto h = src.number("hostid")) {
    config.set_number("hostid", *h);
    if (auto n = src.text("hostname")) config.set_text("hostname", *n);
  }

  std::vector<NvList> children;
  for (uint64_t id = 0; id < newest->vdev_children; ++id) {
    auto it = top_level.find(id);
    const auto& holes = newest->holes;
    if (it == top_level.end() && std::find(holes.begin(), holes.end(), id) != holes.end()) {
      // A removed top-level vdev keeps its place, as libzutil's get_configs() fills it.
      NvList hole;
      hole.set_text("type", "hole");
      hole.set_number("id", id);
      hole.set_number("guid", 0);
      children.push_back(std::move(hole));
      continue;
    }
    if (it == top_level.end()) return std::nullopt;  // a missing vdev: zpool decides
    children.push_back(*it->second->config.list("vdev_tree"));
    point_leaves(children.back(), paths, leaf_path);
  }
  if (top_level.size() + std::count_if(children.begin(), children.end(),
                                       [](const NvList& c) { return c.text("type") == "hole"; }) !=
      children.size())
    return std::nullopt;  // an id past vdev_children
  NvList root;
  root.set_text("type", "root");
  root.set_number("id", 0);
  root.set_number("guid", pool_guid);
  root.set_lists("children", std::move(children));
  config.set_list("vdev_tree", std::move(root));
  return config;
}

bool has_distributed_spares(const NvList& config) {
  const NvList* tree = config.list("vdev_tree");
  const auto* tops = tree ? tree->lists("children") : nullptr;
  if (!tops) return false;
  return std::any_of(tops->begin(), tops->end(), [](const NvList& top) {
    return top.text("type") == "draid" && top.number("draid_nspares").value_or(0) > 0;
  });
}

size_t add_aux_devices(NvList& config, const NvList& tried, const AuxDevices& aux,
                       const LeafPath& leaf_path) {
  const NvList* tried_tree = tried.list("vdev_tree");
  NvList* tree = nullptr;
  for (auto& p : config.pairs)
    if (p.name == "vdev_tree" && p.type == kNvNvlist && p.lists.size() == 1) tree = &p.lists[0];
  if (!tried_tree || !tree) return 0;
  size_t found = 0;
  std::vector<std::pair<std::string, std::vector<NvList>>> lists;
  for (const char* kind : {"spares", "l2cache"}) {
    const auto* devices = tried_tree->lists(kind);
    if (!devices || devices->empty()) continue;
    std::vector<NvList> out;
    for (const NvList& d : *devices) {
      auto type = d.text("type");
      auto guid = d.number("guid");
      auto path = d.text("path");
      if (!type || !guid || !path) return 0;  // not a list this understands: the MOS's stands
      // The entry's strings and numbers as the trial gave them (a distributed spare needs its
      // top_guid and spareid: without them spa_load_spares() fails a VERIFY and the import
      // hangs for good; the reply's other pairs, stats in the kernel's native encoding, are not
      // for a config), only the path of one found here changed, with udev's strings that went
      // with the old one.
      NvList entry;
      for (const char* k : {"type", "path", "devid", "phys_path", "vdev_enc_sysfs_path"})
        if (auto v = d.text(k)) entry.set_text(k, *v);
      for (const char* k : {"guid", "whole_disk", "top_guid", "spareid", "is_spare"})
        if (auto v = d.number(k)) entry.set_number(k, *v);
      if (auto it = aux.find(*guid); it != aux.end()) {
        ++found;
        const std::string chosen = leaf_path ? leaf_path(*path, it->second) : it->second;
        if (chosen != *path) repoint(entry, chosen);
      } else if (*type == "dspare") {
        // A name ("draid1-0-0"), not a path: the kernel maps it onto the dRAID vdev by these two;
        // a list without them would stop the import in that VERIFY, so none is handed over.
        if (!d.number("top_guid") || !d.number("spareid")) return 0;
        ++found;
      }
      out.push_back(std::move(entry));
    }
    lists.emplace_back(kind, std::move(out));
  }
  if (found == 0) return 0;
  for (auto& [kind, out] : lists) tree->set_lists(kind, std::move(out));
  return found;
}

Result<NvList> try_import(const NvList& config) {
  Fd fd = open_zfs_device();
  if (!fd.valid()) return Error::sys("open", "/dev/zfs", errno);
  const std::string packed = pack_xdr_nvlist(config);
  ZfsCmd cmd{};
  cmd.nvlist_conf = reinterpret_cast<uintptr_t>(packed.data());
  cmd.nvlist_conf_size = packed.size();
  std::string reply;
  return zfs_ioctl_nvlist(fd.get(), kIocPoolTryimport, cmd, "ZFS_IOC_POOL_TRYIMPORT",
                          config.text("name").value_or("?"), reply);
}

Status import_with_ioctl(const std::string& name, uint64_t pool_guid, const NvList& config,
                         bool force, const std::string& history) {
  if (name.empty() || name.size() >= sizeof(ZfsCmd::name))
    return Error::msg("pool name '" + name + "' does not fit the ioctl");
  Fd fd = open_zfs_device();
  if (!fd.valid()) return Error::sys("open", "/dev/zfs", errno);
  const std::string packed = pack_xdr_nvlist(config);
  ZfsCmd head{};
  std::memcpy(head.name, name.c_str(), name.size() + 1);
  head.guid = pool_guid;
  head.nvlist_conf = reinterpret_cast<uintptr_t>(packed.data());
  head.nvlist_conf_size = packed.size();
  head.cookie = force ? kImportAnyHost : 0;
  if (auto st = zfs_ioctl(fd.get(), kIocPoolImport, head, "ZFS_IOC_POOL_IMPORT", name); !st)
    return st;
  // The pool's history records the import as zpool's would (`zpool history`): the kernel takes
  // one message right after an ioctl that allows it, from the same thread. Best effort.
  if (!history.empty()) {
    NvList message;
    message.set_text("message", history);
    const std::string args = pack_xdr_nvlist(message);
    ZfsCmd log{};
    log.nvlist_src = reinterpret_cast<uintptr_t>(args.data());
    log.nvlist_src_size = args.size();
    if (auto st = zfs_ioctl(fd.get(), kIocLogHistory, log, "ZFS_IOC_LOG_HISTORY", name); !st)
      log_debug("pool history not written: %s", st.error().message.c_str());
  }
  return Ok{};
}

}  // namespace zinitrd::rt
