// zfs_label.cc: the XDR nvlist of vdev labels, and the direct import plan (see zfs_label.h).
#include "zfs_label.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "fd.h"
#include "zfs_member.h"

namespace zinitrd::rt {
namespace {

// data_type_t values of nvpair.h used here.
constexpr int32_t kUint64 = 8, kString = 9, kNvlist = 19, kNvlistArray = 20;
constexpr size_t kLabelNvlistBytes = 112 << 10;  // VDEV_PHYS_SIZE
constexpr int kMaxDepth = 16;                    // vdev trees are 3 deep; labels never nest more

// A bounds-checked reader of XDR (big-endian, 4-byte aligned) data.
class Xdr {
 public:
  Xdr(std::string_view b, size_t pos) : b_(b), pos_(pos) {}
  bool u32(uint32_t& v) {
    if (pos_ + 4 > b_.size()) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(b_[pos_ + i]);
    pos_ += 4;
    return true;
  }
  bool u64(uint64_t& v) {
    uint32_t hi, lo;
    if (!u32(hi) || !u32(lo)) return false;
    v = uint64_t{hi} << 32 | lo;
    return true;
  }
  bool str(std::string& s) {
    uint32_t n;
    if (!u32(n) || n > b_.size() - pos_) return false;
    s.assign(b_.substr(pos_, n));
    pos_ += (n + 3) & ~size_t{3};
    return pos_ <= b_.size();
  }
  size_t pos() const { return pos_; }
  void seek(size_t p) { pos_ = p; }

 private:
  std::string_view b_;
  size_t pos_;
};

// What one nvlist of the label holds that matters here; CHILDREN are its "children" lists.
struct Node {
  std::map<std::string, uint64_t> numbers;
  std::map<std::string, std::string> strings;
  std::optional<std::vector<Node>> children;
  std::vector<Node> vdev_tree;  // "vdev_tree" (one in a label)
};

bool parse_list(Xdr& x, Node& node, int depth) {
  if (depth > kMaxDepth) return false;
  uint32_t version, flags;
  if (!x.u32(version) || !x.u32(flags)) return false;
  for (;;) {
    const size_t start = x.pos();
    uint32_t encoded, decoded;
    if (!x.u32(encoded) || !x.u32(decoded)) return false;
    if (encoded == 0 && decoded == 0) return true;  // the end of this list
    std::string name;
    uint32_t type, count;
    if (!x.str(name) || !x.u32(type) || !x.u32(count)) return false;
    const size_t end = start + encoded;
    if (encoded < 8 || end < start) return false;
    if (type == kUint64 && count == 1) {
      uint64_t v;
      if (!x.u64(v)) return false;
      node.numbers[name] = v;
    } else if (type == kString && count == 1) {
      std::string v;
      if (!x.str(v)) return false;
      node.strings[name] = v;
    } else if (type == kNvlist && name == "vdev_tree") {
      node.vdev_tree.emplace_back();
      if (!parse_list(x, node.vdev_tree.back(), depth + 1)) return false;
    } else if (type == kNvlistArray && name == "children") {
      node.children.emplace();
      for (uint32_t i = 0; i < count; ++i) {
        node.children->emplace_back();
        if (!parse_list(x, node.children->back(), depth + 1)) return false;
      }
    }
    x.seek(end);  // the encoded size covers the pair, embedded lists included
  }
}

void collect_leaves(const Node& n, std::vector<uint64_t>& out) {
  if (!n.children || n.children->empty()) {
    if (auto it = n.numbers.find("guid"); it != n.numbers.end()) out.push_back(it->second);
    return;
  }
  for (const auto& c : *n.children) collect_leaves(c, out);
}

}  // namespace

std::optional<ZfsLabel> parse_zfs_label(std::string_view nvlist) {
  if (!is_zfs_member_label(nvlist)) return std::nullopt;
  Xdr x(nvlist, 4);  // past the nvs_header_t
  Node root;
  if (!parse_list(x, root, 0)) return std::nullopt;
  auto num = [&](const char* k) -> std::optional<uint64_t> {
    auto it = root.numbers.find(k);
    if (it == root.numbers.end()) return std::nullopt;
    return it->second;
  };
  auto name = root.strings.find("name");
  if (name == root.strings.end() || !num("pool_guid") || !num("guid") || !num("top_guid") ||
      !num("state") || !num("vdev_children") || root.vdev_tree.size() != 1)
    return std::nullopt;
  ZfsLabel l;
  l.name = name->second;
  l.pool_guid = *num("pool_guid");
  l.guid = *num("guid");
  l.top_guid = *num("top_guid");
  l.state = *num("state");
  l.vdev_children = *num("vdev_children");
  l.hostid = num("hostid");
  collect_leaves(root.vdev_tree.front(), l.leaves);
  if (std::find(l.leaves.begin(), l.leaves.end(), l.guid) == l.leaves.end()) return std::nullopt;
  return l;
}

std::optional<ZfsLabel> read_zfs_label(const std::string& path, uint64_t size) {
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
    if (auto l = parse_zfs_label(std::string_view(buf.data(), static_cast<size_t>(n)))) return l;
  }
  return std::nullopt;
}

std::optional<DirectImport> plan_direct_import(const std::vector<LabelledDevice>& devices,
                                               const std::string& wanted, uint32_t our_hostid) {
  std::set<uint64_t> pools;
  std::vector<const LabelledDevice*> mine;
  for (const auto& d : devices) {
    const ZfsLabel& l = d.label;
    if (l.name != wanted && std::to_string(l.pool_guid) != wanted) continue;
    pools.insert(l.pool_guid);
    mine.push_back(&d);
  }
  if (pools.size() != 1) return std::nullopt;  // absent, or namesakes: the ladder decides
  std::set<uint64_t> tops, present;
  std::set<uint64_t> needed;
  for (const auto* d : mine) {
    const ZfsLabel& l = d->label;
    // Active under this hostid (the pool this system booted last) or exported; another
    // system's pool needs the ladder's diagnosis (and -f, which only the command line gives).
    const bool ours = l.state == 0 && l.hostid && *l.hostid == our_hostid;
    if (!ours && l.state != 1) return std::nullopt;
    if (l.vdev_children != mine.front()->label.vdev_children) return std::nullopt;
    if (!present.insert(l.guid).second) return std::nullopt;  // one disk seen twice (multipath)
    tops.insert(l.top_guid);
    needed.insert(l.leaves.begin(), l.leaves.end());
  }
  if (tops.size() != mine.front()->label.vdev_children) return std::nullopt;  // a vdev missing
  for (uint64_t g : needed)
    if (!present.count(g)) return std::nullopt;  // a member missing: the ladder waits for it
  DirectImport out;
  out.name = mine.front()->label.name;
  out.pool_guid = *pools.begin();
  for (const auto* d : mine) out.devices.push_back(d->path);
  return out;
}

}  // namespace zinitrd::rt
