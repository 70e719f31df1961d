// cmdline.cc: kernel command line tokenizer and the BootRequest parser (see cmdline.h).
#include "cmdline.h"

#include <algorithm>
#include <cstdlib>

#include "boot_config.h"
#include "boot_verdict.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

constexpr size_t kMaxDatasetName = 255;  // ZFS_MAX_DATASET_NAME_LEN - 1
constexpr size_t kMaxDiagnostics = 32;   // a 100 KB line of garbage must not flood the console
constexpr size_t kMaxShownValue = 64;    // values quoted in diagnostics are cut to this

bool is_kernel_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// A value as it may be shown in a message: bounded and without control characters.
std::string shown(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, kMaxShownValue))
    out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (v.size() > kMaxShownValue) out += "...";
  return out;
}

std::string param_text(const KernelParam& p) { return p.has_value ? p.key + "=" + p.value : p.key; }

// Non-negative decimal seconds, at most MAX.
std::optional<int> parse_seconds(std::string_view v, int max) {
  if (v.empty() || v.size() > 9) return std::nullopt;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > max) return std::nullopt;
  return n;
}

// What the kernel's kstrtoul(base 0) accepts: 0x.. hex, 0.. octal, else decimal; 32 bits here.
std::optional<uint32_t> parse_ulong_base0(std::string_view v) {
  if (v.empty() || v.size() > 24) return std::nullopt;
  std::string s(v);
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == 'x' ||
          c == 'X'))
      return std::nullopt;
  char* end = nullptr;
  errno = 0;
  unsigned long long n = strtoull(s.c_str(), &end, 0);
  if (errno != 0 || end != s.c_str() + s.size() || n > 0xffffffffULL) return std::nullopt;
  return static_cast<uint32_t>(n);
}

bool valid_module_name(std::string_view m) {
  if (m.empty() || m.size() > 56) return false;
  for (char c : m)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

// Parameters we interpret ourselves even though they look like MODULE.param.
bool is_own_dotted_key(std::string_view key) {
  return key == "zfs.force" || starts_with(key, "rd.") || starts_with(key, "bootfs.") ||
         starts_with(key, "zinitrd.");
}

class Parser {
 public:
  explicit Parser(BootRequest& r) : r_(r) {}

  void add(const KernelParam& p);
  void finish();

 private:
  void diag(std::string text) {
    ++diag_count_;
    if (r_.diagnostics.size() < kMaxDiagnostics) r_.diagnostics.push_back(std::move(text));
  }
  void set_bool(const KernelParam& p, bool& out);
  void module_param(const KernelParam& p);
  void set_root_from(std::string_view raw, std::string origin);

  BootRequest& r_;
  size_t diag_count_ = 0;
  std::optional<std::string> root_, zfs_, rootfstype_;
};

void Parser::set_bool(const KernelParam& p, bool& out) {
  if (!p.has_value) {
    out = true;
    return;
  }
  if (auto b = parse_bool_word(p.value)) {
    out = *b;
    return;
  }
  diag("'" + shown(param_text(p)) + "': expected " + p.key + "=1 or " + p.key +
       "=0 (or yes/no, on/off); ignored");
}

void Parser::module_param(const KernelParam& p) {
  size_t dot = p.key.find('.');
  std::string module = normalize_module_name(p.key.substr(0, dot));
  std::string param = p.key.substr(dot + 1);
  if (!valid_module_name(p.key.substr(0, dot)) || param.empty()) return;  // not a module param
  std::string text = param;
  if (p.has_value) {
    if (module == "spl" && normalize_module_name(param) == "spl_hostid") {
      auto id = parse_ulong_base0(p.value);
      if (!id) {
        diag("'" + shown(param_text(p)) +
             "': not a hostid (write spl.spl_hostid=0x followed by 8 hex digits); not passed to "
             "spl");
        return;
      }
      r_.module_hostid = *id;
    }
    text += '=';
    if (p.value.find_first_of(" \t") != std::string::npos)
      text += "\"" + p.value + "\"";
    else
      text += p.value;
  }
  r_.module_params[module].push_back(std::move(text));
}

void Parser::add(const KernelParam& p) {
  const std::string& k = p.key;
  const std::string& v = p.value;
  auto need_value = [&]() {
    if (p.has_value) return true;
    diag("'" + shown(k) + "' needs a value (" + k + "=...); ignored");
    return false;
  };
  if (k == "root") {
    if (!need_value()) return;
    if (v.empty())
      diag("'root=' is empty; ignored");
    else
      root_ = v;
  } else if (k == "zfs") {
    if (need_value()) zfs_ = v;
  } else if (k == "rootfstype") {
    if (need_value()) rootfstype_ = v;
  } else if (k == "rootflags") {
    if (need_value()) r_.rootflags = v;
  } else if (k == "ro" && !p.has_value) {
    r_.kernel_read_only = true;
  } else if (k == "rw" && !p.has_value) {
    r_.kernel_read_only = false;
  } else if (k == "init") {
    if (!need_value()) return;
    if (v.empty() || v[0] != '/' || v.size() > 4096)
      diag("'init=" + shown(v) + "': init= needs an absolute path such as /sbin/init; ignored");
    else
      r_.init = v;
  } else if (k == "zfs_force" || k == "zfs.force" || k == "zfsforce") {
    set_bool(p, r_.force);
  } else if (k == "spl_hostid") {
    if (!need_value()) return;
    uint32_t id;
    if (parse_hostid(v, id))
      r_.spl_hostid = id;
    else
      diag("'spl_hostid=" + shown(v) +
           "': not a hostid (1-8 hex digits, e.g. spl_hostid=0x8e9a1a2b); ignored");
  } else if (k == "rd.break") {
    if (!p.has_value || v.empty()) {
      r_.breaks.push_back(Stage::kPrePivot);
      return;
    }
    for (const auto& word : split_words(v, ",")) {
      if (auto s = parse_stage(word))
        r_.breaks.push_back(*s);
      else
        diag("'rd.break=" + shown(word) +
             "': unknown stage; use cmdline, modules, pre-import, pre-mount or pre-pivot");
    }
  } else if (k == "rd.shell") {
    bool b = r_.shell.value_or(true);
    set_bool(p, b);
    r_.shell = b;
  } else if (k == "rd.debug") {
    set_bool(p, r_.debug);
  } else if (k == "rd.timeout") {
    if (!need_value()) return;
    if (auto s = parse_seconds(v, 86400))
      r_.timeout_s = *s;
    else
      diag("'rd.timeout=" + shown(v) + "': expected seconds (0-86400); ignored");
  } else if (k == "rd.zfs.member_wait") {
    if (!need_value()) return;
    if (auto s = parse_seconds(v, 3600))
      r_.member_wait_s = *s;
    else
      diag("'rd.zfs.member_wait=" + shown(v) + "': expected seconds (0-3600); ignored");
  } else if (k == "rootdelay") {
    if (!need_value()) return;
    if (auto s = parse_seconds(v, 3600))
      r_.rootdelay_s = *s;
    else
      diag("'rootdelay=" + shown(v) + "': expected seconds (0-3600); ignored");
  } else if (k == "resume") {
    if (!need_value()) return;
    r_.resume = std::string(v);
  } else if (k == "noresume" && !p.has_value) {
    r_.noresume = true;
  } else if (k == "quiet" && !p.has_value) {
    r_.quiet = true;
  } else if (k == "loglevel") {
    if (!need_value()) return;
    if (auto s = parse_seconds(v, 15))
      r_.loglevel = *s;
    else
      diag("'loglevel=" + shown(v) + "': expected a number 0-15; ignored");
  } else if (k == "console") {
    if (p.has_value && !v.empty()) r_.consoles.push_back(v);
  } else if (k == "ip") {
    if (!need_value()) return;
    auto ip = parse_ip_param(v);
    if (!ip)
      diag(ip.error().message + "; ignored");
    else if (ip->mode == IpConfig::Mode::kOff)
      r_.network.clear();  // ip=off after another ip=: no network
    else
      r_.network.push_back(*ip);
  } else if (k == "bootfs.snapshot") {
    r_.bootfs_snapshot = true;
    r_.bootfs_snapshot_name = v;
  } else if (k == "bootfs.rollback") {
    r_.bootfs_rollback = true;
    r_.bootfs_rollback_name = v;
  } else if (k == "modprobe.blacklist" || k == "rd.driver.blacklist" || k == "module_blacklist") {
    if (!need_value()) return;
    auto& into = k == "module_blacklist" ? r_.module_blacklist : r_.blacklist;
    for (const auto& word : split_words(v, ",")) {
      if (valid_module_name(word))
        into.push_back(normalize_module_name(word));
      else
        diag("'" + k + "=" + shown(v) + "': '" + shown(word) + "' is not a module name; ignored");
    }
  } else if (is_luks_param(k)) {
    std::vector<std::string> d;
    parse_luks_param(k, p.has_value, v, r_.luks, d);
    for (auto& text : d) diag(std::move(text));
  } else if (k == kBootTestParam) {
    set_bool(p, r_.boot_test);
  } else if (starts_with(k, "zinitrd.")) {
    diag("'" + shown(k) + "' is not a zinitrd option (zinitrd.boot_test is); ignored");
  } else if (starts_with(k, "rd.")) {
    diag("'" + shown(k) + "' is a dracut option that zinitrd does not implement; ignored");
  } else if (k.find('.') != std::string::npos && !is_own_dotted_key(k)) {
    module_param(p);
  }
}

void Parser::set_root_from(std::string_view raw, std::string origin) {
  r_.root_origin = std::move(origin);
  std::string lower = to_lower(raw);
  if (lower.empty() || lower == "auto" || lower == "bootfs") {
    r_.root_kind = RootKind::kAuto;
    return;
  }
  std::string why;
  if (decode_dataset(raw, r_.dataset, r_.snapshot, why)) {
    r_.root_kind = RootKind::kDataset;
    r_.pool = r_.dataset.substr(0, r_.dataset.find('/'));
  } else {
    r_.root_kind = RootKind::kInvalid;
    r_.dataset.clear();
    r_.snapshot.clear();
    r_.root_error =
        "'" + shown(r_.root_origin) + "': " + why +
        "; write root=zfs:POOL/DATASET (e.g. root=zfs:rpool/ROOT/debian) or root=zfs:AUTO";
  }
}

void Parser::finish() {
  bool fstype_zfs = rootfstype_ && to_lower(*rootfstype_) == "zfs";
  bool root_is_zfs = false;
  std::string root_rest;
  if (root_) {
    std::string lower = to_lower(*root_);
    if (lower == "zfs") {
      root_is_zfs = true;
    } else if (starts_with(lower, "zfs:") || starts_with(lower, "zfs=")) {
      root_is_zfs = true;
      root_rest = root_->substr(4);
    } else if (fstype_zfs) {
      root_is_zfs = true;
      root_rest = *root_;
    }
  }
  auto is_auto = [](const std::string& v) {
    std::string l = to_lower(v);
    return l.empty() || l == "auto" || l == "bootfs";
  };
  // root=zfs:AUTO next to zfs=POOL/DS: the named dataset is the more precise request.
  if (root_is_zfs && zfs_ && is_auto(root_rest) && !is_auto(*zfs_)) root_is_zfs = false;
  if (root_is_zfs) {
    set_root_from(root_rest, "root=" + *root_);
    if (zfs_ && to_lower(*zfs_) != to_lower(root_rest))
      diag("both 'root=" + shown(*root_) + "' and 'zfs=" + shown(*zfs_) +
           "' name a root; using root=");
  } else if (zfs_) {
    set_root_from(*zfs_, "zfs=" + *zfs_);
    if (root_ && !starts_with(to_lower(*root_), "zfs"))
      diag("'root=" + shown(*root_) + "' is not a ZFS dataset; using 'zfs=" + shown(*zfs_) + "'");
  } else if (root_) {
    r_.root_kind = RootKind::kForeign;
    r_.root_origin = "root=" + *root_;
    r_.root_error = "'root=" + shown(*root_) +
                    "' is not a ZFS dataset, and this image boots ZFS roots only; write "
                    "root=zfs:POOL/DATASET (e.g. root=zfs:rpool/ROOT/debian) or root=zfs:AUTO";
  } else if (fstype_zfs) {
    r_.root_kind = RootKind::kAuto;
    r_.root_origin = "rootfstype=zfs";
  }
  if (r_.boot_test && !r_.breaks.empty()) {
    diag("rd.break is ignored under zinitrd.boot_test: a boot test runs without a console user");
    r_.breaks.clear();
  }
  if (diag_count_ > r_.diagnostics.size())
    r_.diagnostics.push_back(std::to_string(diag_count_ - r_.diagnostics.size()) +
                             " more problems with the command line not shown");
}

}  // namespace

std::vector<KernelParam> split_kernel_cmdline(std::string_view s) {
  std::vector<KernelParam> out;
  const size_t n = s.size();
  size_t pos = 0;
  while (pos < n && is_kernel_space(s[pos])) ++pos;
  while (pos < n) {
    // The logic of next_arg() in lib/cmdline.c, on indices instead of in-place NULs.
    size_t start = pos;
    bool in_quote = false, quoted = false;
    if (s[start] == '"') {
      ++start;
      in_quote = quoted = true;
    }
    size_t i = start, equals = 0;
    for (; i < n; ++i) {
      if (is_kernel_space(s[i]) && !in_quote) break;
      if (equals == 0 && s[i] == '=' && i > start) equals = i;
      if (s[i] == '"') in_quote = !in_quote;
    }
    const size_t end = i;
    KernelParam p;
    if (equals == 0) {
      size_t kend = end;
      if (quoted && kend > start && s[kend - 1] == '"') --kend;
      p.key.assign(s.substr(start, kend - start));
    } else {
      p.key.assign(s.substr(start, equals - start));
      p.has_value = true;
      size_t vb = equals + 1, ve = end;
      bool stripped_end = false;
      if (vb < ve && s[vb] == '"') {
        ++vb;
        if (s[end - 1] == '"') {
          ve = end - 1 < vb ? vb : end - 1;
          stripped_end = true;
        }
      }
      if (quoted && !stripped_end && ve > vb && s[ve - 1] == '"') --ve;
      p.value.assign(s.substr(vb, ve - vb));
    }
    pos = end;
    while (pos < n && is_kernel_space(s[pos])) ++pos;
    if (!p.has_value && p.key == "--") break;
    if (!p.key.empty()) out.push_back(std::move(p));
  }
  return out;
}

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::kCmdline:
      return "cmdline";
    case Stage::kModules:
      return "modules";
    case Stage::kPreImport:
      return "pre-import";
    case Stage::kPreMount:
      return "pre-mount";
    case Stage::kPrePivot:
      return "pre-pivot";
  }
  return "?";
}

std::optional<Stage> parse_stage(std::string_view name) {
  std::string n = to_lower(name);
  if (n == "cmdline" || n == "pre-udev") return Stage::kCmdline;
  if (n == "modules" || n == "pre-trigger") return Stage::kModules;
  if (n == "pre-import" || n == "initqueue") return Stage::kPreImport;
  if (n == "pre-mount" || n == "mount") return Stage::kPreMount;
  if (n == "pre-pivot" || n == "cleanup") return Stage::kPrePivot;
  return std::nullopt;
}

std::optional<bool> parse_bool_word(std::string_view word) {
  std::string w = to_lower(word);
  if (w == "1" || w == "yes" || w == "y" || w == "on" || w == "true") return true;
  if (w == "0" || w == "no" || w == "n" || w == "off" || w == "false") return false;
  return std::nullopt;
}

bool decode_dataset(std::string_view raw, std::string& dataset, std::string& snapshot,
                    std::string& why) {
  std::string name;
  for (char c : raw) name += (c == '+') ? ' ' : c;
  size_t at = name.find('@');
  snapshot.clear();
  if (at != std::string::npos) {
    snapshot = name.substr(at + 1);
    name.resize(at);
    if (snapshot.empty()) {
      why = "the snapshot name after '@' is empty";
      return false;
    }
  }
  while (!name.empty() && name.back() == '/') name.pop_back();
  dataset = name;
  if (name.empty()) {
    why = "the dataset name is empty";
    return false;
  }
  if (name.size() + (snapshot.empty() ? 0 : snapshot.size() + 1) > kMaxDatasetName) {
    why = "the dataset name is longer than ZFS allows (255 characters)";
    return false;
  }
  if (name[0] == '/') {
    why = "a dataset name does not start with '/' (that is a device path)";
    return false;
  }
  // A pool name starts with a letter; a pool part that is all digits is the pool's GUID (as
  // initramfs-tools accepts it: the way to pick one of two pools of the same name).
  const std::string pool_part = name.substr(0, name.find('/'));
  const bool guid =
      pool_part.size() <= 20 &&
      std::all_of(pool_part.begin(), pool_part.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!guid && !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'))) {
    why = "a pool name starts with a letter (or is the pool's numeric GUID)";
    return false;
  }
  if (name.find("//") != std::string::npos) {
    why = "the dataset name has an empty component ('//')";
    return false;
  }
  auto bad_char = [](char c) {
    return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == ':' || c == '.' || c == ' ' || c == '/');
  };
  for (char c : name) {
    if (bad_char(c)) {
      why = "the dataset name contains a character ZFS does not allow";
      return false;
    }
  }
  for (char c : snapshot) {
    if (c == '/' || bad_char(c)) {
      why = "the snapshot name contains a character ZFS does not allow";
      return false;
    }
  }
  return true;
}

BootRequest parse_cmdline(std::string_view cmdline) {
  BootRequest r;
  Parser parser(r);
  for (const auto& p : split_kernel_cmdline(cmdline)) parser.add(p);
  parser.finish();
  return r;
}

bool wants_break(const BootRequest& request, Stage stage) {
  for (Stage s : request.breaks)
    if (s == stage) return true;
  return false;
}

}  // namespace zinitrd::rt
