// check_luks.cc: see check_luks.h.
#include "check_luks.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "boot_config.h"
#include "crypttab.h"
#include "text.h"

namespace zinitrd::gen {
namespace {

CheckItem item(std::string id, CheckState state, std::string detail, std::string fix = {}) {
  return CheckItem{std::move(id), state, std::move(detail), std::move(fix)};
}

// A UUID without dashes, lower-case, so "UUID=3D03-..." and sysfs's form compare equal.
std::string bare_uuid(std::string_view u) {
  std::string out;
  for (char c : u)
    if (c != '-') out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// The LUKS entries of crypttab TEXT (not swap, tmp, plain...).
std::vector<CrypttabEntry> luks_entries(const std::optional<std::string>& text) {
  std::vector<CrypttabEntry> out;
  if (!text) return out;
  std::vector<std::string> problems;
  for (auto& e : parse_crypttab(*text, problems))
    if (interpret_crypttab_options(e.options).not_luks.empty()) out.push_back(std::move(e));
  return out;
}

// The entry for mapping M: the one naming its UUID, else the one with its name.
const CrypttabEntry* entry_for(const std::vector<CrypttabEntry>& entries, const LuksMapping& m) {
  for (const auto& e : entries)
    if (!crypttab_source_uuid(e.source).empty() &&
        bare_uuid(crypttab_source_uuid(e.source)) == bare_uuid(m.uuid))
      return &e;
  for (const auto& e : entries)
    if (e.name == m.name) return &e;
  return nullptr;
}

std::string describe(const LuksMapping& m) {
  return "/dev/mapper/" + m.name + " (LUKS UUID " + m.uuid + " on " + m.device + ")";
}

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

CheckItem check_crypttab_entries(const LuksCheckFacts& f, const std::vector<CrypttabEntry>& entries,
                                 const std::vector<BootLuks>* image_records) {
  if (!f.pool_luks)
    return item(
        "luks-crypttab", CheckState::kUnknown,
        "/etc/crypttab names " + std::to_string(entries.size()) +
            " LUKS device(s); cannot tell which are under the root pool: " + f.pool_luks_error);
  std::vector<std::string> found, missing;
  bool carried_anyway = true;
  for (const auto& m : *f.pool_luks) {
    if (const CrypttabEntry* e = entry_for(entries, m)) {
      found.push_back(m.name + " (line " + std::to_string(e->line) + ")");
      continue;
    }
    missing.push_back(describe(m));
    bool carried =
        image_records &&
        std::any_of(image_records->begin(), image_records->end(), [&](const BootLuks& r) {
          return bare_uuid(crypttab_source_uuid(r.source)) == bare_uuid(m.uuid);
        });
    carried_anyway = carried_anyway && carried;
  }
  if (f.pool_luks->empty())
    return item("luks-crypttab", CheckState::kOk,
                "the root pool " + f.pool + " is not on LUKS; /etc/crypttab names " +
                    std::to_string(entries.size()) +
                    " LUKS device(s), carried in the image unless built --host-only");
  if (missing.empty())
    return item(
        "luks-crypttab", CheckState::kOk,
        "every LUKS device under " + f.pool + " has an /etc/crypttab entry: " + join(found, ", "));
  const LuksMapping& first =
      *std::find_if(f.pool_luks->begin(), f.pool_luks->end(),
                    [&](const LuksMapping& m) { return entry_for(entries, m) == nullptr; });
  std::string fix = "add a line such as `" + first.name + " UUID=" + first.uuid +
                    " none luks` to /etc/crypttab for each, then rebuild the image";
  if (carried_anyway)
    return item("luks-crypttab", CheckState::kWarn,
                "not in /etc/crypttab, opened by the image under its current name only: " +
                    join(missing, ", "),
                fix);
  return item("luks-crypttab", CheckState::kFail,
              "not in /etc/crypttab, so the image does not open them and the pool cannot be "
              "imported: " +
                  join(missing, ", "),
              fix + " (or boot with rd.luks.uuid=UUID)");
}

CheckItem check_key_files(const LuksCheckFacts& f, const std::vector<const CrypttabEntry*>& with) {
  std::vector<std::string> missing, open, fine;
  for (const CrypttabEntry* e : with) {
    auto k = f.keys.find(e->key_file);
    if (k == f.keys.end() || !k->second)
      missing.push_back(e->key_file + " (" + e->name + ")");
    else if (*k->second & 077)
      open.push_back(e->key_file + " (mode " + octal(*k->second) + ")");
    else
      fine.push_back(e->key_file);
  }
  if (!missing.empty())
    return item("luks-keys", CheckState::kWarn,
                "key files named in /etc/crypttab are missing, the boot will ask for the "
                "passphrase instead: " +
                    join(missing, ", "),
                "create the key file (and add it to a keyslot: `cryptsetup luksAddKey DEVICE "
                "FILE`) or write `none` in its crypttab field, then rebuild the image");
  if (!open.empty())
    return item("luks-keys", CheckState::kWarn,
                "key files readable by other users: " + join(open, ", "),
                "chmod 0600 each of them (the image embeds them mode 0600 in any case)");
  return item("luks-keys", CheckState::kOk, "key files present and private: " + join(fine, ", "));
}

CheckItem check_image_luks(std::string_view kver, const LuksCheckFacts& f,
                           const std::vector<BootLuks>* records) {
  const std::string fix = "run `zinitrd build --kver " + std::string(kver) + "`";
  bool cryptsetup = false, dm_crypt = false;
  const std::string dir = "/modules/" + std::string(kver) + "/";
  std::vector<std::string> members;
  for (const auto& m : f.image_members) {
    std::string_view name = std::string_view(m.path).substr(m.path.rfind('/') + 1);
    if (name == "cryptsetup" && !S_ISDIR(m.mode)) cryptsetup = true;
    if (m.path.find(dir) != std::string::npos &&
        (name == "dm-crypt.ko" || name.starts_with("dm-crypt.ko.")))
      dm_crypt = true;
    members.push_back(m.path);
  }
  std::vector<std::string> lacks;
  if (!cryptsetup) lacks.push_back("cryptsetup");
  if (!dm_crypt) lacks.push_back("dm-crypt.ko");
  if (!records) lacks.push_back("a readable boot configuration");
  std::vector<std::string> opened;
  if (records && f.pool_luks) {
    for (const auto& m : *f.pool_luks) {
      auto r = std::find_if(records->begin(), records->end(), [&](const BootLuks& b) {
        return bare_uuid(crypttab_source_uuid(b.source)) == bare_uuid(m.uuid) || b.name == m.name;
      });
      if (r == records->end()) {
        lacks.push_back("a record for " + describe(m));
        continue;
      }
      if (!r->key_file.empty() &&
          std::find(members.begin(), members.end(), r->key_file) == members.end())
        lacks.push_back("the key file " + r->key_file + " of " + r->name);
      opened.push_back(r->name);
    }
  }
  if (!lacks.empty())
    return item("image-luks", CheckState::kFail,
                "the image cannot open the pool's LUKS devices: it lacks " + join(lacks, ", "),
                fix + " (the luks feature comes in when /etc/crypttab names devices)");
  return item("image-luks", CheckState::kOk,
              "contains cryptsetup, dm-crypt.ko" +
                  (opened.empty() ? std::string() : " and opens " + join(opened, ", ")));
}

}  // namespace

std::vector<std::string> crypttab_key_files(const std::optional<std::string>& crypttab) {
  std::vector<std::string> out;
  for (const auto& e : luks_entries(crypttab))
    if (!e.key_file.empty() && std::find(out.begin(), out.end(), e.key_file) == out.end())
      out.push_back(e.key_file);
  return out;
}

std::vector<CheckItem> check_luks(std::string_view kver, const LuksCheckFacts& f) {
  std::vector<CheckItem> items;
  const std::vector<CrypttabEntry> entries = luks_entries(f.crypttab);
  const bool pool_on_luks = f.pool_luks && !f.pool_luks->empty();
  if (!pool_on_luks && entries.empty()) return items;

  std::optional<std::vector<BootLuks>> records;
  if (f.image_read && f.image_boot_config)
    if (auto c = parse_boot_config(*f.image_boot_config)) records = c->luks;
  const std::vector<BootLuks>* rec = records ? &*records : nullptr;

  items.push_back(check_crypttab_entries(f, entries, rec));

  // Key files of the entries that matter: those of the pool's devices, or every LUKS entry when
  // the pool's devices are unknown.
  std::vector<const CrypttabEntry*> with_keys;
  for (const auto& e : entries) {
    if (e.key_file.empty()) continue;
    bool under_pool = !f.pool_luks || std::any_of(f.pool_luks->begin(), f.pool_luks->end(),
                                                  [&](const LuksMapping& m) {
                                                    return entry_for(entries, m) == &e;
                                                  });
    if (under_pool) with_keys.push_back(&e);
  }
  if (!with_keys.empty()) items.push_back(check_key_files(f, with_keys));

  if (pool_on_luks && f.image_read) items.push_back(check_image_luks(kver, f, rec));
  return items;
}

}  // namespace zinitrd::gen
