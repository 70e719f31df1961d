// check_parsers.cc: see check_parsers.h.
#include "check_parsers.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "text.h"

namespace zinitrd::gen {

std::string parse_dkms_state(std::string_view status_output, std::string_view module,
                             std::string_view kver) {
  for (std::string_view line : split_all(status_output, '\n')) {
    size_t colon = line.rfind(": ");
    if (colon == std::string_view::npos) continue;
    // Fields before the colon: "zfs/2.1.11, KVER, x86_64" (dkms 3) or "zfs, 2.1.11, KVER, x86_64".
    std::vector<std::string_view> fields;
    std::string_view head = line.substr(0, colon);
    while (true) {
      size_t c = head.find(',');
      fields.push_back(trim(head.substr(0, c)));
      if (c == std::string_view::npos) break;
      head.remove_prefix(c + 1);
    }
    std::string_view name = fields[0].substr(0, fields[0].find('/'));
    if (name != module) continue;
    // A line without a kernel field ("zfs/2.1.11: added") is about no kernel in particular.
    bool for_kver = std::find(fields.begin(), fields.end(), kver) != fields.end();
    bool no_kernel =
        fields.size() == 1 || (fields.size() == 2 && fields[0].find('/') == std::string_view::npos);
    if (!for_kver && !no_kernel) continue;
    return std::string(trim(line.substr(colon + 2)));
  }
  return {};
}

std::optional<uint32_t> parse_hostid_file(std::string_view bytes) {
  if (bytes.size() != 4) return std::nullopt;
  uint32_t v;
  std::memcpy(&v, bytes.data(), 4);
  return v;
}

std::vector<std::string> parse_zdb_pools(std::string_view zdb_output) {
  std::vector<std::string> pools;
  for (std::string_view line : split_all(zdb_output, '\n')) {
    if (line.empty() || line[0] == ' ' || line[0] == '\t' || line.back() != ':') continue;
    line.remove_suffix(1);
    if (line.find(' ') == std::string_view::npos) pools.emplace_back(line);
  }
  return pools;
}

std::optional<uint32_t> parse_zdb_hostid(std::string_view zdb_output, std::string_view pool) {
  bool in_pool = false;
  for (std::string_view line : split_all(zdb_output, '\n')) {
    if (!line.empty() && line[0] != ' ' && line[0] != '\t') {
      in_pool = line == std::string(pool) + ":";
      continue;
    }
    if (!in_pool) continue;
    std::string_view t = trim(line);
    // The pool's own hostid sits at the first indentation level; vdev trees do not have one.
    if (t.starts_with("hostid:")) {
      std::string v(trim(t.substr(7)));
      char* end = nullptr;
      unsigned long long n = std::strtoull(v.c_str(), &end, 0);
      if (end == v.c_str() || n > 0xffffffffULL) return std::nullopt;
      return uint32_t(n);
    }
  }
  return std::nullopt;
}

std::string upstream_version(std::string_view version) {
  version = trim(version);
  if (version.starts_with("zfs-kmod-"))
    version.remove_prefix(9);
  else if (version.starts_with("zfs-"))
    version.remove_prefix(4);
  size_t end = 0;
  while (end < version.size() && (std::isdigit((unsigned char)version[end]) || version[end] == '.'))
    ++end;
  std::string v(version.substr(0, end));
  while (!v.empty() && v.back() == '.') v.pop_back();
  return v;
}

bool cmdline_wants_bootfs(std::string_view cmdline) {
  bool wants = false;
  for (const std::string& w : split_words(cmdline)) {
    if (w == "--") break;  // the rest belongs to init
    std::string lower = w;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower == "root=zfs" || lower == "root=zfs:" || lower == "root=zfs:auto" ||
        lower == "zfs=auto" || lower == "zfs=bootfs")
      wants = true;
    else if (w.starts_with("root=") || w.starts_with("zfs="))
      wants = false;  // a later root parameter names a dataset: the last one wins
  }
  return wants;
}

std::string first_line(std::string_view text) {
  return std::string(trim(text.substr(0, text.find('\n'))));
}

}  // namespace zinitrd::gen
