// console_keymap.cc: the image's keymap on the console keyboard (see console_keymap.h).
#include "console_keymap.h"

#include <fcntl.h>
#include <linux/kd.h>
#include <sys/ioctl.h>

#include <cerrno>

#include "binary_keymap.h"
#include "fd.h"
#include "log.h"
#include "util.h"

namespace zinitrd::rt {

Result<size_t> load_console_keymap(const std::string& keymap, const std::string& tty) {
  if (!path_exists(keymap)) return size_t{0};
  auto bytes = read_file(keymap, 1 << 20);
  if (!bytes) return bytes.error();
  auto keys = parse_binary_keymap(*bytes);
  if (!keys) return Error::msg(keymap + ": not a binary keymap");
  Fd fd(::open(tty.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return size_t{0};  // no VT: nothing reads a keyboard map
  int mode = 0;
  if (::ioctl(fd.get(), KDGKBMODE, &mode) != 0) return size_t{0};  // not a VT
  size_t set = 0;
  for (const auto& k : *keys) {
    struct kbentry e {};
    e.kb_table = k.table;
    e.kb_index = k.index;
    e.kb_value = k.value;
    if (::ioctl(fd.get(), KDSKBENT, &e) != 0)
      return Error::sys(
          "KDSKBENT (keymap " + std::to_string(k.table) + ", key " + std::to_string(k.index) + ")",
          tty, errno);
    ++set;
  }
  return set;
}

void ensure_console_keymap() {
  static bool loaded = false;
  if (loaded) return;
  loaded = true;
  if (auto keys = load_console_keymap(); !keys)
    log_warning("console keymap: %s; the keyboard keeps the US layout",
                keys.error().message.c_str());
  else if (*keys)
    log_debug("console keymap: %zu keys set", *keys);
}

}  // namespace zinitrd::rt
