// console_keymap.cc: the system's console keymap, found and compiled (see console_keymap.h).
#include "console_keymap.h"

#include <algorithm>
#include <filesystem>

#include "binary_keymap.h"
#include "text.h"

namespace zinitrd::gen {
namespace {

constexpr const char* kConsoleSetupCache = "/etc/console-setup/cached_UTF-8_del.kmap.gz";
constexpr const char* kKeymapDirs[] = {"/usr/share/kbd/keymaps", "/usr/lib/kbd/keymaps",
                                       "/usr/share/keymaps", "/lib/kbd/keymaps"};

// The in-root path of the keymap NAME under DIR (searched recursively, as loadkeys does), "" when
// none: NAME.map.gz, NAME.map, NAME.kmap.gz, NAME.kmap.
std::string find_keymap_file(const RootFs& root, const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  auto top = root.resolve(dir);
  if (!top) return "";
  const std::string host_top = root.host_path(top->path);
  std::error_code ec;
  std::string best;
  for (fs::recursive_directory_iterator it(host_top, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string file = it->path().filename().string();
    for (const char* ext : {".map.gz", ".map", ".kmap.gz", ".kmap"})
      if (file == name + ext) {
        std::string in_root = top->path + it->path().string().substr(host_top.size());
        if (best.empty() || in_root < best) best = in_root;  // the same file each build
      }
  }
  return best;
}

}  // namespace

std::string vconsole_keymap(std::string_view text) {
  std::string value;
  for (const auto& raw : split_all(text, '\n')) {
    std::string_view line = trim(raw);
    if (line.substr(0, 7) != "KEYMAP=") continue;
    std::string_view v = trim(line.substr(7));
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
      v = v.substr(1, v.size() - 2);
    value = std::string(v);  // the last assignment wins, as in a shell
  }
  return value;
}

Result<std::optional<KeymapSource>> find_console_keymap(const RootFs& root) {
  // setupcon names its cache cached_CHARMAP_BACKSPACE.kmap.gz: UTF-8 and del unless the system
  // chose otherwise.
  auto cached = root.glob("/etc/console-setup/cached_*.kmap.gz");
  std::stable_partition(cached.begin(), cached.end(),
                        [](const std::string& p) { return p.find("/cached_UTF-8_") != p.npos; });
  std::stable_partition(cached.begin(), cached.end(),
                        [](const std::string& p) { return p == kConsoleSetupCache; });
  if (!cached.empty())
    return std::optional<KeymapSource>(KeymapSource{cached.front(), "console-setup"});
  if (!root.exists("/etc/vconsole.conf")) return std::optional<KeymapSource>();
  auto text = root.read_file("/etc/vconsole.conf");
  if (!text) return text.error();
  const std::string name = vconsole_keymap(*text);
  if (name.empty()) return std::optional<KeymapSource>();
  const std::string origin = "KEYMAP=" + name + " in /etc/vconsole.conf";
  if (name[0] == '/' && root.exists(name)) return std::optional<KeymapSource>({name, origin});
  if (name.find('/') == std::string::npos)
    for (const char* dir : kKeymapDirs)
      if (auto found = find_keymap_file(root, dir, name); !found.empty())
        return std::optional<KeymapSource>({found, origin});
  return Error::msg(origin + ": no such keymap in " + root.root() +
                    " (kbd's /usr/share/kbd/keymaps, /usr/lib/kbd/keymaps, console-data's "
                    "/usr/share/keymaps)");
}

Result<std::string> compile_keymap(const std::string& host_path, const CommandRunner& run) {
  CommandOutput out = run({"loadkeys", "-u", "-b", host_path});
  if (!out.ran)
    return Error::msg("loadkeys (kbd) is not installed: it compiles " + host_path +
                      " for the image");
  if (!out.ok())
    return Error::msg("loadkeys -u -b " + host_path + ": " + out.describe() +
                      " (run it by hand to see why)");
  if (!parse_binary_keymap(out.out))
    return Error::msg("loadkeys -u -b " + host_path + " did not write a binary keymap");
  return std::move(out.out);
}

}  // namespace zinitrd::gen
