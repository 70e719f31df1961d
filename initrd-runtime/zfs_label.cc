// zfs_label.cc: the XDR nvlist of vdev labels, and the direct import plan (see zfs_label.h).
#include "zfs_label.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "fd.h"
#include "xdr_nvlist.h"
#include "zfs_member.h"

namespace zinitrd::rt {
namespace {

constexpr size_t kLabelNvlistBytes = 112 << 10;  // VDEV_PHYS_SIZE

void collect_leaves(const NvList& n, std::vector<uint64_t>& out) {
  const auto* children = n.lists("children");
  if (!children || children->empty()) {
    if (auto g = n.number("guid")) out.push_back(*g);
    return;
  }
  for (const auto& c : *children) collect_leaves(c, out);
}

}  // namespace

std::optional<ZfsLabel> parse_zfs_label(std::string_view nvlist) {
  if (!is_zfs_member_label(nvlist)) return std::nullopt;
  auto root = parse_xdr_nvlist(nvlist);
  if (!root) return std::nullopt;
  auto name = root->text("name");
  auto num = [&](const char* k) { return root->number(k); };
  const NvList* tree = root->list("vdev_tree");
  if (!name || !num("pool_guid") || !num("guid") || !num("top_guid") || !num("state") ||
      !num("vdev_children") || !tree)
    return std::nullopt;
  ZfsLabel l;
  l.name = *name;
  l.pool_guid = *num("pool_guid");
  l.guid = *num("guid");
  l.top_guid = *num("top_guid");
  l.state = *num("state");
  l.vdev_children = *num("vdev_children");
  // vdev_label_init() writes txg 0 on a device being added (a pool whose creation failed
  // leaves it so) and on one being removed: not a member, as libzutil's add_config() says.
  l.txg = num("txg").value_or(0);
  if (l.txg == 0) return std::nullopt;
  l.hostid = num("hostid");
  l.id = tree->number("id").value_or(0);
  l.holes = root->numbers("hole_array").value_or(std::vector<uint64_t>{});
  collect_leaves(*tree, l.leaves);
  if (std::find(l.leaves.begin(), l.leaves.end(), l.guid) == l.leaves.end()) return std::nullopt;
  l.config = std::move(*root);
  return l;
}

namespace {

// The first of the four label slots of the device at PATH (SIZE bytes) that PARSE accepts.
template <typename Parse>
auto read_label(const std::string& path, uint64_t size, Parse parse) -> decltype(parse({})) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return std::nullopt;
  std::string buf(kLabelNvlistBytes, '\0');
  const uint64_t aligned = size / kVdevLabelSize * kVdevLabelSize;
  std::vector<uint64_t> slots{0, kVdevLabelSize};
  if (aligned >= 4 * kVdevLabelSize)
    slots.insert(slots.end(), {aligned - 2 * kVdevLabelSize, aligned - kVdevLabelSize});
  for (uint64_t off : slots) {
    ssize_t n =
        ::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(off + kLabelNvlistOffset));
    if (n <= 0) continue;
    if (auto l = parse(std::string_view(buf.data(), static_cast<size_t>(n)))) return l;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ZfsLabel> read_zfs_label(const std::string& path, uint64_t size) {
  return read_label(path, size, parse_zfs_label);
}

std::optional<AuxLabel> parse_aux_label(std::string_view nvlist) {
  if (!is_zfs_aux_label(nvlist)) return std::nullopt;
  auto root = parse_xdr_nvlist(nvlist);
  if (!root || root->number("pool_guid")) return std::nullopt;
  auto guid = root->number("guid");
  auto state = root->number("state");
  if (!guid || !state || (*state != kPoolStateSpare && *state != kPoolStateL2cache))
    return std::nullopt;
  return AuxLabel{*guid, *state};
}

std::optional<AuxLabel> read_aux_label(const std::string& path, uint64_t size) {
  return read_label(path, size, parse_aux_label);
}

namespace {

const NvList* find_leaf(const NvList& tree, uint64_t guid) {
  if (const auto* children = tree.lists("children"); children && !children->empty()) {
    for (const auto& c : *children)
      if (const NvList* found = find_leaf(c, guid)) return found;
    return nullptr;
  }
  return tree.number("guid") == guid ? &tree : nullptr;
}

}  // namespace

std::optional<std::string> recorded_leaf_path(const ZfsLabel& label) {
  const NvList* tree = label.config.list("vdev_tree");
  const NvList* leaf = tree ? find_leaf(*tree, label.guid) : nullptr;
  return leaf ? leaf->text("path") : std::nullopt;
}

bool stale_label(const ZfsLabel& label, const ZfsLabel& newest) {
  if (label.txg >= newest.txg) return false;
  return label.vdev_children != newest.vdev_children ||
         std::find(newest.holes.begin(), newest.holes.end(), label.id) != newest.holes.end();
}

std::optional<DirectImport> plan_direct_import(const std::vector<LabelledDevice>& devices,
                                               const std::string& wanted, uint32_t our_hostid) {
  std::set<uint64_t> pools;
  std::vector<const LabelledDevice*> named;
  for (const auto& d : devices) {
    const ZfsLabel& l = d.label;
    if (l.name != wanted && std::to_string(l.pool_guid) != wanted) continue;
    pools.insert(l.pool_guid);
    named.push_back(&d);
  }
  if (pools.size() != 1) return std::nullopt;  // absent, or namesakes: the ladder decides
  const ZfsLabel* newest = &named.front()->label;
  for (const auto* d : named)
    if (d->label.txg > newest->txg) newest = &d->label;
  std::vector<const LabelledDevice*> mine;
  for (const auto* d : named)
    if (!stale_label(d->label, *newest)) mine.push_back(d);
  std::set<uint64_t> tops, present;
  std::set<uint64_t> needed;
  for (const auto* d : mine) {
    const ZfsLabel& l = d->label;
    // Active under this hostid (the pool this system booted last) or exported; another
    // system's pool needs the ladder's diagnosis (and -f, which only the command line gives).
    const bool ours = l.state == 0 && l.hostid && *l.hostid == our_hostid;
    if (!ours && l.state != 1) return std::nullopt;
    if (l.vdev_children != newest->vdev_children) return std::nullopt;
    if (!present.insert(l.guid).second) return std::nullopt;  // one disk seen twice (multipath)
    tops.insert(l.top_guid);
    needed.insert(l.leaves.begin(), l.leaves.end());
  }
  std::set<uint64_t> holes;
  for (uint64_t h : newest->holes)
    if (h < newest->vdev_children) holes.insert(h);
  if (tops.size() + holes.size() != newest->vdev_children) return std::nullopt;  // one missing
  for (uint64_t g : needed)
    if (!present.count(g)) return std::nullopt;  // a member missing: the ladder waits for it
  DirectImport out;
  out.name = newest->name;
  out.pool_guid = *pools.begin();
  for (const auto* d : mine) out.devices.push_back(d->path);
  return out;
}

}  // namespace zinitrd::rt
