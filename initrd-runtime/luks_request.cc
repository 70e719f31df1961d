// luks_request.cc: see luks_request.h.
#include "luks_request.h"

#include <algorithm>

#include "cmdline.h"
#include "crypttab.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

constexpr size_t kMaxShown = 64;

std::string shown(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, kMaxShown)) out += (c < 0x20 || c == 0x7f) ? '?' : c;
  if (v.size() > kMaxShown) out += "...";
  return out;
}

void add_uuid(LuksRequest& r, const std::string& uuid) {
  if (std::find(r.uuids.begin(), r.uuids.end(), uuid) == r.uuids.end()) r.uuids.push_back(uuid);
}

bool valid_name(std::string_view n) {
  return !n.empty() && n.size() <= 127 && n.find('/') == std::string_view::npos &&
         std::none_of(n.begin(), n.end(), [](char c) { return c <= 0x20 || c == 0x7f; });
}

// Splits "UUID=REST" when the part before '=' is a UUID; UUID stays empty otherwise.
void split_uuid_prefix(std::string_view value, std::string& uuid, std::string_view& rest) {
  size_t eq = value.find('=');
  uuid = eq == std::string_view::npos ? std::string() : normalize_luks_uuid(value.substr(0, eq));
  rest = uuid.empty() ? value : value.substr(eq + 1);
}

}  // namespace

std::string normalize_luks_uuid(std::string_view text) {
  if (starts_with(text, "luks-")) text.remove_prefix(5);
  if (starts_with(text, "UUID=")) text.remove_prefix(5);
  // 32 hex digits, with or without the 4 dashes of the usual form.
  size_t hex = 0;
  for (char c : text) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
      ++hex;
    else if (c != '-')
      return {};
  }
  if (hex != 32 || text.size() > 36) return {};
  return to_lower(text);
}

bool is_luks_param(std::string_view key) {
  return key == "rd.luks" || starts_with(key, "rd.luks.") || starts_with(key, "luks.");
}

void parse_luks_param(std::string_view raw_key, bool has_value, std::string_view v, LuksRequest& r,
                      std::vector<std::string>& diags) {
  std::string key(raw_key);
  if (starts_with(key, "luks.")) key = "rd." + key;
  const std::string text = std::string(raw_key) + (has_value ? "=" + shown(v) : std::string());
  auto need_value = [&]() {
    if (has_value && !v.empty()) return true;
    diags.push_back("'" + text + "' needs a value; ignored");
    return false;
  };
  if (key == "rd.luks" || key == "rd.luks.crypttab") {
    bool on = true;
    if (has_value) {
      auto b = parse_bool_word(v);
      if (!b) {
        diags.push_back("'" + text + "': expected 0 or 1; ignored");
        return;
      }
      on = *b;
    }
    if (key == "rd.luks")
      r.disabled = !on;
    else
      r.use_crypttab = on;
  } else if (key == "rd.luks.uuid") {
    if (!need_value()) return;
    std::string u = normalize_luks_uuid(v);
    if (u.empty())
      diags.push_back("'" + text +
                      "': not a LUKS UUID (as `cryptsetup luksUUID DEVICE` prints it); ignored");
    else
      add_uuid(r, u);
  } else if (key == "rd.luks.name") {
    if (!need_value()) return;
    std::string u;
    std::string_view name;
    split_uuid_prefix(v, u, name);
    if (u.empty() || !valid_name(name)) {
      diags.push_back("'" + text + "': expected rd.luks.name=UUID=NAME; ignored");
      return;
    }
    add_uuid(r, u);
    r.names[u] = std::string(name);
  } else if (key == "rd.luks.key") {
    if (!need_value()) return;
    std::string u;
    std::string_view path;
    split_uuid_prefix(v, u, path);
    if (path.find(':') != std::string_view::npos) {
      diags.push_back("'" + text +
                      "': a key file on another device is not supported; embed the key file in "
                      "the image (name it in /etc/crypttab) instead; ignored");
      return;
    }
    if (path.empty() || path[0] != '/') {
      diags.push_back("'" + text + "': the key file must be an absolute path; ignored");
      return;
    }
    if (u.empty())
      r.default_key = std::string(path);
    else
      r.keys[u] = std::string(path);
  } else if (key == "rd.luks.options") {
    if (!need_value()) return;
    std::string u;
    std::string_view opts;
    split_uuid_prefix(v, u, opts);
    std::vector<std::string> list = split_words(opts, ",");
    if (u.empty())
      r.default_options = std::move(list);
    else
      r.options[u] = std::move(list);
  } else {
    diags.push_back("'" + shown(raw_key) +
                    "' is not a LUKS option zinitrd implements (it reads rd.luks, rd.luks.uuid, "
                    "rd.luks.name, rd.luks.key, rd.luks.options, rd.luks.crypttab); ignored");
  }
}

std::vector<LuksTarget> plan_luks_targets(const std::vector<BootLuks>& entries,
                                          const LuksRequest& r, std::vector<std::string>& notes) {
  std::vector<LuksTarget> out;
  if (r.disabled) {
    if (!entries.empty() || !r.uuids.empty())
      notes.push_back("rd.luks=0: no LUKS device is opened");
    return out;
  }
  auto from_entry = [](const BootLuks& e) {
    LuksTarget t;
    t.name = e.name;
    t.source = e.source;
    t.uuid = crypttab_source_uuid(e.source);
    t.label = crypttab_source_label(e.source);
    if (t.uuid.empty() && t.label.empty()) t.path = e.source;
    t.key_file = e.key_file;
    t.options = e.options;
    t.origin = "crypttab";
    return t;
  };
  std::vector<const BootLuks*> usable;
  if (r.use_crypttab)
    for (const auto& e : entries) usable.push_back(&e);
  else if (!entries.empty())
    notes.push_back("rd.luks.crypttab=0: the image's crypttab entries are not used");

  if (r.uuids.empty()) {
    for (const BootLuks* e : usable) {
      LuksTarget t = from_entry(*e);
      if (t.key_file.empty()) t.key_file = r.default_key;
      if (auto it = r.options.find(t.uuid); !t.uuid.empty() && it != r.options.end())
        t.options.insert(t.options.end(), it->second.begin(), it->second.end());
      out.push_back(std::move(t));
    }
    return out;
  }
  // The command line names the devices: only those are opened, with crypttab's settings when
  // it has an entry for the UUID (as systemd-cryptsetup-generator does).
  for (const auto& u : r.uuids) {
    LuksTarget t;
    auto e = std::find_if(usable.begin(), usable.end(),
                          [&](const BootLuks* b) { return crypttab_source_uuid(b->source) == u; });
    if (e != usable.end()) {
      t = from_entry(**e);
    } else {
      t.name = "luks-" + u;
      t.source = "UUID=" + u;
      t.uuid = u;
      t.options = r.default_options;
      t.origin = r.names.count(u) ? "rd.luks.name=" : "rd.luks.uuid=";
    }
    if (auto it = r.names.find(u); it != r.names.end()) t.name = it->second;
    if (auto it = r.keys.find(u); it != r.keys.end())
      t.key_file = it->second;
    else if (t.key_file.empty())
      t.key_file = r.default_key;
    if (auto it = r.options.find(u); it != r.options.end())
      t.options.insert(t.options.end(), it->second.begin(), it->second.end());
    out.push_back(std::move(t));
  }
  for (const BootLuks* e : usable)
    if (std::find(r.uuids.begin(), r.uuids.end(), crypttab_source_uuid(e->source)) == r.uuids.end())
      notes.push_back("crypttab entry '" + e->name + "' (" + e->source +
                      ") is not opened: rd.luks.uuid=/rd.luks.name= name other devices");
  return out;
}

}  // namespace zinitrd::rt
