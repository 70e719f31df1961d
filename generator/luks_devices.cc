// luks_devices.cc: see luks_devices.h.
#include "luks_devices.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "crypttab.h"
#include "fd.h"
#include "luks_header.h"

namespace fs = std::filesystem;

namespace zinitrd::gen {
namespace {

// dm over md over dm...: real stacks are 2-3 deep; a loop in a broken sysfs must end.
constexpr int kMaxDepth = 16;

std::string read_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  return line;
}

bool parse_dev(const std::string& text, dev_t& dev) {
  unsigned ma = 0, mi = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%u:%u%c", &ma, &mi, &extra) != 2) return false;
  dev = makedev(ma, mi);
  return true;
}

Status walk(const std::string& sysfs, dev_t dev, int depth, std::vector<dev_t>& leaves,
            std::vector<LuksMapping>& luks) {
  fs::path link = fs::path(sysfs) / "dev/block" /
                  (std::to_string(major(dev)) + ":" + std::to_string(minor(dev)));
  std::error_code ec;
  fs::path node = fs::canonical(link, ec);
  if (ec) return Error::sys("resolve", link.string(), ec.value());
  std::vector<std::string> slaves;
  for (fs::directory_iterator it(node / "slaves", ec), end; !ec && it != end; it.increment(ec))
    slaves.push_back(it->path().filename().string());
  std::sort(slaves.begin(), slaves.end());
  if (slaves.empty() || depth >= kMaxDepth) {
    if (std::find(leaves.begin(), leaves.end(), dev) == leaves.end()) leaves.push_back(dev);
    return Ok{};
  }
  std::string uuid = luks_uuid_of_dm_uuid(read_line(node / "dm/uuid"));
  if (!uuid.empty()) {
    LuksMapping m{read_line(node / "dm/name"), uuid, "/dev/" + slaves.front()};
    if (std::find(luks.begin(), luks.end(), m) == luks.end()) luks.push_back(std::move(m));
  }
  for (const auto& s : slaves) {
    dev_t below;
    fs::path dev_file = node / "slaves" / s / "dev";
    if (!parse_dev(read_line(dev_file), below))
      return Error::msg("cannot read '" + dev_file.string() + "' (major:minor)");
    if (auto st = walk(sysfs, below, depth + 1, leaves, luks); !st) return st;
  }
  return Ok{};
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

const LuksMapping* find_mapping(const std::vector<LuksMapping>& pool, const CrypttabEntry& e) {
  std::string uuid = crypttab_source_uuid(e.source);
  for (const auto& m : pool)
    if (m.name == e.name || (!uuid.empty() && m.uuid == uuid)) return &m;
  return nullptr;
}

}  // namespace

std::string luks_uuid_of_dm_uuid(std::string_view dm_uuid) {
  for (std::string_view p : {"CRYPT-LUKS1-", "CRYPT-LUKS2-"}) {
    if (!starts_with(dm_uuid, p)) continue;
    std::string_view hex = dm_uuid.substr(p.size(), 32);
    if (hex.size() != 32 || hex.find('-') != std::string_view::npos) return {};
    std::string u;
    for (size_t i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) u += '-';
      char c = hex[i];
      u += (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return u;
  }
  return {};
}

Status collect_stacked_devices(const std::string& sysfs, dev_t dev, std::vector<dev_t>& leaves,
                               std::vector<LuksMapping>& luks) {
  return walk(sysfs, dev, 0, leaves, luks);
}

std::string host_source_uuid(const std::string& source) {
  std::string path = source;
  for (auto [prefix, dir] :
       {std::pair<std::string_view, std::string_view>{"PARTUUID=", "by-partuuid"},
        {"PARTLABEL=", "by-partlabel"}})
    if (starts_with(source, prefix))
      path = "/dev/disk/" + std::string(dir) + "/" + source.substr(prefix.size());
  if (!starts_with(path, "/dev/")) return {};
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return {};
  std::string bytes(4096, '\0');
  ssize_t n = ::pread(fd.get(), bytes.data(), bytes.size(), 0);
  if (n <= 0) return {};
  bytes.resize(static_cast<size_t>(n));
  auto h = parse_luks_header(bytes);
  return h ? h->uuid : std::string();
}

LuksPlan plan_luks_devices(const RootFs& root, const std::vector<LuksMapping>* pool,
                           const SourceUuidLookup& lookup) {
  LuksPlan plan;
  std::vector<CrypttabEntry> entries;
  if (auto text = root.read_file("/etc/crypttab")) {
    std::vector<std::string> problems;
    entries = parse_crypttab(*text, problems);
    for (auto& p : problems)
      plan.warnings.push_back(root.is_host() ? p : p + " (in " + root.root() + ")");
  }
  std::vector<const LuksMapping*> claimed;
  for (const auto& e : entries) {
    const std::string what = "crypttab entry '" + e.name + "'";
    CrypttabOptions o = interpret_crypttab_options(e.options);
    if (!o.not_luks.empty()) continue;  // swap, tmp, plain...: the booted system's business
    const LuksMapping* m = pool ? find_mapping(*pool, e) : nullptr;
    if (pool && !m) {
      plan.notes.push_back(what + " (" + e.source +
                           ") is not under the root pool: --host-only leaves it out");
      continue;
    }
    if (m) claimed.push_back(m);
    if (o.noauto && !m) continue;  // not opened at boot by the system either
    if (!o.detached.empty()) {
      plan.warnings.push_back(what + " has a detached header (header=" + o.detached +
                              "), which zinitrd cannot open: it is left out of the image");
      continue;
    }
    for (const auto& i : o.ignored) plan.warnings.push_back(what + ": option " + i);
    BootLuks b{e.name, e.source, e.key_file, e.options};
    if (!crypttab_source_findable(e.source)) {
      std::string uuid = m ? m->uuid : (lookup ? lookup(e.source) : std::string());
      if (!uuid.empty())
        b.source = "UUID=" + uuid;
      else
        plan.warnings.push_back(what + " names its device as " + e.source +
                                ", which /init cannot find without udev: write UUID=... in "
                                "/etc/crypttab (`cryptsetup luksUUID DEVICE` prints it) and "
                                "rebuild the image");
    }
    if (!e.key_file.empty()) {
      if (starts_with(e.key_file, "/dev/") || e.key_file.find(':') != std::string::npos ||
          e.key_file[0] != '/') {
        plan.warnings.push_back(what + ": its key " + e.key_file +
                                " is not a file zinitrd can embed (a device, or a file on "
                                "another device): /init asks for the passphrase instead");
        b.key_file.clear();
      } else if (root.exists(e.key_file)) {
        plan.keys.emplace_back(e.key_file, e.name);
      } else {
        plan.warnings.push_back(what + ": its key file " + e.key_file + " is not in " +
                                root.root() +
                                ", so the image cannot carry it and /init will ask "
                                "for the passphrase of '" +
                                e.name + "'; restore the key file and rebuild the image");
      }
    }
    plan.entries.push_back(std::move(b));
  }
  if (pool)
    for (const auto& m : *pool) {
      if (std::find(claimed.begin(), claimed.end(), &m) != claimed.end()) continue;
      plan.warnings.push_back("LUKS device " + m.device + " (UUID " + m.uuid +
                              ") under the root pool is open as /dev/mapper/" + m.name +
                              " but /etc/crypttab does not name it: the image opens it as '" +
                              m.name + "' with a passphrase prompt; add `" + m.name +
                              " UUID=" + m.uuid + " none luks` to /etc/crypttab");
      plan.entries.push_back(BootLuks{m.name, "UUID=" + m.uuid, "", {}});
    }
  return plan;
}

}  // namespace zinitrd::gen
