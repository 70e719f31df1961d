// zfs_dataset_list.cc: a dataset tree by ioctl (see zfs_dataset_list.h).
#include "zfs_dataset_list.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "native_nvlist.h"
#include "zfs_ioctl.h"

namespace zinitrd::rt {
namespace {

// {value, source} of the property NAME in PROPS; null when it is neither set nor inherited.
const NvList* property(const NvList& props, std::string_view name) { return props.list(name); }

std::string mountpoint_of(const std::string& name, const NvList& props) {
  std::string value = "/", source;
  if (const NvList* p = property(props, "mountpoint")) {
    value = p->text("value").value_or("/");
    source = p->text("source").value_or("");
  }
  if (value.empty() || value[0] != '/') return value;  // none, legacy
  // Inherited: the path below the dataset it comes from is appended. A received value
  // ("$recvd") is the dataset's own.
  std::string_view relative;
  if (source != "$recvd" && name.compare(0, source.size(), source) == 0) {
    relative = std::string_view(name).substr(source.size());
    if (!relative.empty() && relative[0] == '/') relative.remove_prefix(1);
  }
  if (relative.empty()) return value;
  if (value == "/") value.clear();
  return value + "/" + std::string(relative);
}

}  // namespace

DatasetInfo dataset_info(const std::string& name, const NvList& props) {
  DatasetInfo d;
  d.name = name;
  d.mountpoint = mountpoint_of(name, props);
  d.canmount = "on";
  if (const NvList* p = property(props, "canmount")) {
    static const char* const kNames[] = {"off", "on", "noauto"};
    if (auto v = p->number("value"); v && *v < 3) d.canmount = kNames[*v];
  }
  if (const NvList* p = property(props, "encryptionroot"))
    if (auto v = p->text("value"); v && !v->empty()) d.encryptionroot = *v;
  if (const NvList* p = property(props, "keystatus")) {
    auto v = p->number("value");
    if (v == 1u) d.keystatus = "unavailable";
    if (v == 2u) d.keystatus = "available";
  }
  return d;
}

Result<std::vector<DatasetInfo>> list_filesystems(const std::string& dataset) {
  if (dataset.empty() || dataset.size() >= sizeof(ZfsCmd::name))
    return Error::msg("dataset name '" + dataset + "' does not fit the ioctl");
  Fd fd = open_zfs_device();
  if (!fd.valid()) return Error::sys("open", "/dev/zfs", errno);
  std::string reply;
  std::vector<DatasetInfo> out;

  ZfsCmd cmd{};
  std::memcpy(cmd.name, dataset.c_str(), dataset.size() + 1);
  auto props =
      zfs_ioctl_nvlist(fd.get(), kIocObjsetStats, cmd, "ZFS_IOC_OBJSET_STATS", dataset, reply);
  if (!props) return props.error();
  if (cmd.dataset_type != kDmuOstZfs) return Error::msg("'" + dataset + "' is not a filesystem");
  out.push_back(dataset_info(dataset, *props));

  // Each filesystem's children in turn, the cursor (zc_cookie) advancing one child per call.
  std::vector<std::string> parents{dataset};
  while (!parents.empty()) {
    const std::string parent = std::move(parents.back());
    parents.pop_back();
    uint64_t cookie = 0;
    for (;;) {
      ZfsCmd next{};
      std::memcpy(next.name, parent.c_str(), parent.size() + 1);
      next.cookie = cookie;
      auto child = zfs_ioctl_nvlist(fd.get(), kIocDatasetListNext, next,
                                    "ZFS_IOC_DATASET_LIST_NEXT", parent, reply);
      if (!child && child.error().errnum == ESRCH) break;  // no more children
      if (!child) return child.error();
      cookie = next.cookie;
      next.name[sizeof(next.name) - 1] = '\0';
      if (next.dataset_type != kDmuOstZfs) continue;  // a volume
      out.push_back(dataset_info(next.name, *child));
      parents.push_back(next.name);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const DatasetInfo& a, const DatasetInfo& b) { return a.name < b.name; });
  return out;
}

}  // namespace zinitrd::rt
