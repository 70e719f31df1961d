// os_release.cc: os-release(5) and the image names of distribution families (see os_release.h).
#include "os_release.h"

#include <cctype>

#include "text.h"

namespace zinitrd::gen {
namespace {

// The value part of an os-release line: unquoted, "double quoted" with \-escapes, 'single'.
std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'')
    return std::string(v.substr(1, v.size() - 2));
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
    std::string out;
    v = v.substr(1, v.size() - 2);
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      out += v[i];
    }
    return out;
  }
  return std::string(v);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

OsFamily family_of(std::string_view id) {
  for (std::string_view d : {"debian", "ubuntu"})
    if (id == d) return OsFamily::kDebian;
  for (std::string_view r : {"fedora", "rhel", "centos", "rocky", "almalinux"})
    if (id == r) return OsFamily::kRedHat;
  for (std::string_view s : {"suse", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "sles"})
    if (id == s) return OsFamily::kSuse;
  if (id == "arch") return OsFamily::kArch;
  return OsFamily::kOther;
}

}  // namespace

OsRelease parse_os_release(std::string_view text, std::string source) {
  OsRelease os;
  os.source = std::move(source);
  for (const auto& raw : split_all(text, '\n')) {
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, eq));
    std::string value = unquote(line.substr(eq + 1));
    if (key == "ID") os.id = lower(value);
    if (key == "ID_LIKE") os.id_like = split_words(lower(value));
    if (key == "PRETTY_NAME") os.pretty_name = value;
  }
  if (os.id.empty()) os.id = "linux";
  return os;
}

OsRelease read_os_release(const RootFs& root) {
  for (const char* p : {"/etc/os-release", "/usr/lib/os-release"})
    if (auto text = root.read_file(p)) return parse_os_release(*text, p);
  return parse_os_release("", "");
}

OsFamily os_family(const OsRelease& os) {
  if (OsFamily f = family_of(os.id); f != OsFamily::kOther) return f;
  for (const auto& like : os.id_like)
    if (OsFamily f = family_of(like); f != OsFamily::kOther) return f;
  return OsFamily::kOther;
}

std::string default_image_name(const OsRelease& os, const std::string& kver,
                               const std::string& pkgbase) {
  switch (os_family(os)) {
    case OsFamily::kDebian:
      return "initrd.img-" + kver;
    case OsFamily::kSuse:
      return "initrd-" + kver;
    case OsFamily::kArch:
      if (!pkgbase.empty()) return "initramfs-" + pkgbase + ".img";
      break;
    case OsFamily::kRedHat:
    case OsFamily::kOther:
      break;
  }
  return "initramfs-" + kver + ".img";
}

std::string default_image_path(const RootFs& root, const std::string& kver) {
  OsRelease os = read_os_release(root);
  std::string pkgbase;
  if (os_family(os) == OsFamily::kArch)
    if (auto p = root.read_file("/lib/modules/" + kver + "/pkgbase")) pkgbase = trim(*p);
  return "/boot/" + default_image_name(os, kver, pkgbase);
}

}  // namespace zinitrd::gen
