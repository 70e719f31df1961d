// boot_config.cc: writer and reader of the in-image boot configuration (see boot_config.h).
#include "boot_config.h"

#include <charconv>

#include "text.h"

namespace zinitrd {
namespace {

constexpr std::string_view kMagic = "zinitrd-boot-config";

void append_escaped(std::string& out, std::string_view field) {
  for (char c : field) {
    switch (c) {
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        out += c;
    }
  }
}

void append_record(std::string& out, std::initializer_list<std::string_view> fields) {
  bool first = true;
  for (std::string_view f : fields) {
    if (!first) out += '\t';
    first = false;
    append_escaped(out, f);
  }
  out += '\n';
}

// Splits a line at TABs and unescapes each field; false on a dangling or unknown escape.
bool split_fields(std::string_view line, std::vector<std::string>& fields) {
  fields.assign(1, std::string());
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\t') {
      fields.emplace_back();
    } else if (c == '\\') {
      if (++i == line.size()) return false;
      switch (line[i]) {
        case 't':
          fields.back() += '\t';
          break;
        case 'n':
          fields.back() += '\n';
          break;
        case '\\':
          fields.back() += '\\';
          break;
        default:
          return false;
      }
    } else {
      fields.back() += c;
    }
  }
  return true;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::string normalize_module_name(std::string_view name) {
  std::string n(name);
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
}

const BootModule* BootConfig::find_module(std::string_view name) const {
  std::string n = normalize_module_name(name);
  for (const auto& m : modules)
    if (m.name == n) return &m;
  return nullptr;
}

std::string BootConfig::setting(std::string_view key, std::string_view fallback) const {
  auto it = settings.find(std::string(key));
  return it == settings.end() ? std::string(fallback) : it->second;
}

std::string write_boot_config(const BootConfig& c) {
  std::string out;
  append_record(out, {kMagic, std::to_string(c.version)});
  append_record(out, {"kver", c.kver});
  for (const auto& f : c.features) append_record(out, {"feature", f});
  for (const auto& m : c.modules)
    append_record(out, {"module", m.name, m.path, join(m.deps, ","), m.options});
  for (const auto& m : c.modules)
    if (!m.pre.empty() || !m.post.empty())
      append_record(out, {"softdep", m.name, join(m.pre, ","), join(m.post, ",")});
  for (const auto& l : c.load) append_record(out, {"load", l});
  for (const auto& b : c.blacklist) append_record(out, {"blacklist", b});
  for (const auto& a : c.aliases) append_record(out, {"alias", a.pattern, a.module});
  for (const auto& [k, v] : c.settings) append_record(out, {"set", k, v});
  return out;
}

Result<BootConfig> parse_boot_config(std::string_view text) {
  BootConfig c;
  std::vector<std::string> f;
  size_t lineno = 0;
  bool seen_magic = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++lineno;
    auto bad = [&](std::string_view why) {
      return Error::msg("boot config line " + std::to_string(lineno) + ": " + std::string(why));
    };
    if (line.empty()) continue;
    if (!split_fields(line, f)) return bad("bad escape sequence");
    const std::string& kind = f[0];
    if (!seen_magic) {
      if (kind != kMagic || f.size() != 2) return bad("not a zinitrd boot config (missing header)");
      int v = 0;
      auto [p, ec] = std::from_chars(f[1].data(), f[1].data() + f[1].size(), v);
      if (ec != std::errc() || p != f[1].data() + f[1].size() || v < 1)
        return bad("bad version '" + f[1] + "'");
      if (v > kBootConfigVersion)
        return bad("version " + f[1] + " is newer than this runtime understands (" +
                   std::to_string(kBootConfigVersion) +
                   "): rebuild the image with a matching zinitrd");
      c.version = v;
      seen_magic = true;
      continue;
    }
    auto need = [&](size_t n) { return f.size() == n; };
    if (kind == "kver") {
      if (!need(2)) return bad("kver takes 1 field");
      c.kver = f[1];
    } else if (kind == "feature") {
      if (!need(2)) return bad("feature takes 1 field");
      c.features.push_back(f[1]);
    } else if (kind == "module") {
      if (!need(5)) return bad("module takes 4 fields");
      if (f[1].empty() || f[2].empty()) return bad("module needs a name and a path");
      c.modules.push_back(BootModule{f[1], f[2], split_list(f[3]), f[4]});
    } else if (kind == "softdep") {
      if (!need(4)) return bad("softdep takes 3 fields");
      BootModule* m = nullptr;
      for (auto& mod : c.modules)
        if (mod.name == f[1]) m = &mod;
      if (!m) return bad("softdep of '" + f[1] + "', which no module record names before it");
      m->pre = split_list(f[2]);
      m->post = split_list(f[3]);
    } else if (kind == "blacklist") {
      if (!need(2)) return bad("blacklist takes 1 field");
      c.blacklist.push_back(normalize_module_name(f[1]));
    } else if (kind == "load") {
      if (!need(2)) return bad("load takes 1 field");
      c.load.push_back(f[1]);
    } else if (kind == "alias") {
      if (!need(3)) return bad("alias takes 2 fields");
      c.aliases.push_back(BootAlias{f[1], f[2]});
    } else if (kind == "set") {
      if (!need(3)) return bad("set takes 2 fields");
      c.settings[f[1]] = f[2];
    }  // unknown kinds: written by a newer generator of the same major version; skip.
  }
  if (!seen_magic) return Error::msg("boot config is empty");
  return c;
}

}  // namespace zinitrd
