// check_microcode_uki.cc: the early-microcode and UKI items of `zinitrd check` (see
// check_microcode_uki.h).
#include "check_microcode_uki.h"

#include "microcode.h"

namespace zinitrd::gen {

std::optional<CheckItem> check_image_microcode(std::string_view kver, const ImageFacts& image,
                                               const MicrocodeFacts& facts) {
  if (facts.cpu_vendor.empty() || facts.package.empty() || !image.exists ||
      !image.read_error.empty())
    return std::nullopt;
  const std::string rebuild = "run `zinitrd build --kver " + std::string(kver) + "`";
  const std::string blob = "/" + microcode_image_path(facts.cpu_vendor);
  const ImageMember* found = nullptr;
  for (const auto& m : image.members)
    if (m.path == blob) found = &m;
  if (found && found->segment == 0 && found->segment_offset == 0 && found->compression == "none")
    return CheckItem{"image-microcode", CheckState::kOk,
                     "early microcode for " + facts.cpu_vendor + " (" +
                         std::to_string(found->size) + " bytes, uncompressed first segment)",
                     ""};
  if (found)
    return CheckItem{"image-microcode", CheckState::kWarn,
                     blob + " is in segment " + std::to_string(found->segment) + " (" +
                         found->compression +
                         "), where the kernel's early loader never looks: it must be in an "
                         "uncompressed first segment",
                     rebuild + " (zinitrd writes it first, uncompressed)"};
  if (!facts.files_installed)
    return CheckItem{
        "image-microcode", CheckState::kWarn,
        "no early microcode for this " + facts.cpu_vendor + " CPU: " + facts.package +
            " is not installed",
        "install " + facts.package + " (Debian: component non-free-firmware), then " + rebuild};
  return CheckItem{"image-microcode", CheckState::kWarn,
                   "the image has no early microcode for this " + facts.cpu_vendor + " CPU, and " +
                       facts.package + " is installed",
                   rebuild + " (--microcode auto, the default)"};
}

std::optional<CheckItem> check_uki(std::string_view kver, const UkiFacts& uki) {
  if (!uki.exists) return std::nullopt;
  const std::string fix = "run `zinitrd build --uki --kver " + std::string(kver) + " -o " +
                          uki.path + "` (or `kernel-install add " + std::string(kver) +
                          " /boot/vmlinuz-" + std::string(kver) + "`)";
  if (!uki.read_error.empty()) return CheckItem{"uki", CheckState::kFail, uki.read_error, fix};
  if (uki.uname != kver)
    return CheckItem{"uki", CheckState::kFail,
                     uki.path + " carries kernel " + uki.uname + ", not " + std::string(kver), fix};
  if (!uki.initrd_has_zfs)
    return CheckItem{"uki", CheckState::kFail,
                     uki.path + ": its initrd holds no zfs.ko for " + std::string(kver), fix};
  if (uki.module_mtime > uki.mtime)
    return CheckItem{"uki", CheckState::kWarn,
                     uki.path + " is older than zfs.ko of " + std::string(kver), fix};
  return CheckItem{
      "uki", CheckState::kOk,
      uki.path + ": UKI of " + std::string(kver) + ", command line '" + uki.cmdline + "'", ""};
}

}  // namespace zinitrd::gen
