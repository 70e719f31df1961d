// pool_devices.cc: see pool_devices.h.
#include "pool_devices.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "host_only.h"
#include "process.h"

namespace fs = std::filesystem;

namespace zinitrd::gen {
namespace {

std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool is_group(std::string_view w) {
  return w == "logs" || w == "cache" || w == "spares" || w == "special" || w == "dedup";
}

}  // namespace

std::vector<PoolStatus> parse_zpool_status(std::string_view output) {
  std::vector<PoolStatus> pools;
  std::istringstream in{std::string(output)};
  std::string line;
  bool in_config = false, in_table = false;
  std::string group;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> w = words(line);
    // Section headers start at column 0-3 ("  pool:", " state:", "config:", "errors:").
    if (!w.empty() && line[0] != '\t' && w[0].back() == ':') {
      in_config = w[0] == "config:";
      in_table = false;
      if (w[0] == "pool:" && w.size() >= 2) {
        pools.push_back(PoolStatus{w[1], "", {}});
        group.clear();
      } else if (w[0] == "state:" && w.size() >= 2 && !pools.empty()) {
        pools.back().state = w[1];
      }
      continue;
    }
    if (!in_config || pools.empty() || w.empty()) continue;
    if (!in_table) {
      in_table = w[0] == "NAME";  // the table's header line
      continue;
    }
    // A class of vdevs ("logs", "cache"...) stands alone on its line, one tab in.
    if (w.size() == 1 && is_group(w[0])) {
      group = w[0];
      continue;
    }
    if (w[0] == pools.back().name && group.empty()) continue;  // the pool's own row
    PoolDevice d;
    d.state = w.size() >= 2 ? w[1] : "";
    d.group = group;
    if (w[0][0] == '/') {
      d.path = w[0];
    } else if (all_digits(w[0])) {
      d.guid = w[0];  // a member the host cannot open
      for (size_t i = 2; i + 1 < w.size(); ++i)
        if (w[i] == "was") d.was = "was " + w[i + 1];
    } else {
      continue;  // an interior vdev: mirror-0, raidz2-1, replacing-0, spare-0, draid...
    }
    pools.back().devices.push_back(std::move(d));
  }
  return pools;
}

Result<std::string> root_dataset_name() {
  std::ifstream mounts("/proc/self/mounts");
  std::stringstream text;
  text << mounts.rdbuf();
  auto dataset = zfs_dataset_mounted_at(text.str(), "/");
  if (!dataset)
    return Error::msg(dataset.error().message +
                      ", so there is no root pool to test; give its disks (or disk image "
                      "files) with --disk");
  return dataset;
}

std::string prompt_encryption_root(const std::string& dataset) {
  auto value = [](const std::string& property, const std::string& ds) {
    CommandOutput out = run_command({"zfs", "get", "-H", "-o", "value", property, ds});
    std::string v = out.ok() ? out.out : "";
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    return v;
  };
  std::string root = value("encryptionroot", dataset);
  if (root.empty() || root == "-") return "";
  return value("keylocation", root) == "prompt" ? root : "";
}

Result<PoolDisks> host_pool_disks(const std::string& pool) {
  CommandOutput out = run_command({"zpool", "status", "-P", pool});
  if (!out.ran)
    return Error::msg("cannot run `zpool status -P " + pool +
                      "` (install zfsutils-linux), or give the pool's disks with --disk");
  if (!out.ok())
    return Error::msg("`zpool status -P " + pool + "` " + out.describe() +
                      " (is the zfs module loaded? is the pool suspended?); give the pool's "
                      "disks with --disk");
  auto resolve = [](const std::string& path) -> Result<std::string> {
    std::error_code ec;
    fs::path node = fs::canonical(path, ec);
    if (ec) return Error::sys("resolve", path, ec.value());
    struct stat st;
    if (::stat(node.c_str(), &st) != 0) return Error::sys("stat", node.string(), errno);
    if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
      return Error::msg(node.string() + " is neither a block device nor a file");
    return node.string();
  };
  return pool_disks(out.out, pool, resolve);
}

}  // namespace zinitrd::gen
