// binary_keymap.h: the binary keymap `loadkeys -b` writes, which the generator embeds and the
// runtime hands to the kernel's console keyboard.
//
// The format (kbd's lk_dump_bkeymap, busybox's loadkmap): "bkeymap", one flag byte (0 or 1) for
// each of the kernel's 256 keymaps (MAX_NR_KEYMAPS: one per combination of modifiers), then for
// each keymap flagged the values of its keys 0-127, 16 bits each in the writer's byte order (the
// kernel's struct kbentry.kb_value: the key type in the high byte, the symbol in the low one).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace zinitrd {

/// One key of one keymap: what KDSKBENT sets.
struct KeymapKey {
  uint8_t table = 0;  ///< the keymap (modifier combination)
  uint8_t index = 0;  ///< the keycode
  uint16_t value = 0;
};

/// The keys of BYTES when it is a whole binary keymap with at least one keymap, in file order;
/// nullopt otherwise (pure).
std::optional<std::vector<KeymapKey>> parse_binary_keymap(std::string_view bytes);

}  // namespace zinitrd
