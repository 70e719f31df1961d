// microcode.cc: selects the CPU microcode files of a root and writes the early segment (see
// microcode.h for the kernel's rules it follows).
#include "microcode.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "image_writer.h"

namespace zinitrd::gen {
namespace {

constexpr const char* kIntel = "GenuineIntel";
constexpr const char* kAmd = "AuthenticAMD";
constexpr const char* kIntelDir = "/lib/firmware/intel-ucode";
constexpr const char* kAmdDir = "/lib/firmware/amd-ucode";

std::string hex2(unsigned v) {
  char b[8];
  std::snprintf(b, sizeof b, "%02x", v & 0xff);
  return b;
}

// True when NAME is an Intel microcode file name: FF-MM-SS or FF-MM-SS.initramfs (hex).
bool intel_file_name(std::string_view name) {
  if (name.ends_with(".initramfs")) name.remove_suffix(10);
  if (name.size() != 8 || name[2] != '-' || name[5] != '-') return false;
  for (size_t i : {0, 1, 3, 4, 6, 7})
    if (!std::isxdigit(static_cast<unsigned char>(name[i]))) return false;
  return true;
}

// The files of VENDOR that can update CPU (--host-only), sorted.
std::vector<std::string> cpu_files(const RootFs& root, const CpuId& cpu) {
  std::vector<std::string> out;
  if (cpu.vendor == kIntel) {
    std::string base = std::string(kIntelDir) + "/" + hex2(cpu.family) + "-" + hex2(cpu.model) +
                       "-" + hex2(cpu.stepping);
    for (const auto& f : {base, base + ".initramfs"})
      if (root.exists(f)) out.push_back(f);
  } else if (cpu.vendor == kAmd) {
    // The kernel's own names (request_firmware of amd.c): per family from 0x15 on.
    std::string f = cpu.family >= 0x15
                        ? std::string(kAmdDir) + "/microcode_amd_fam" + hex2(cpu.family) + "h.bin"
                        : std::string(kAmdDir) + "/microcode_amd.bin";
    if (root.exists(f)) out.push_back(f);
  }
  return out;
}

uint32_t le32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

std::string cpu_name(const CpuId& cpu) {
  return cpu.vendor + " family 0x" + hex2(cpu.family) + " model 0x" + hex2(cpu.model) +
         " stepping 0x" + hex2(cpu.stepping);
}

}  // namespace

const char* microcode_package(std::string_view vendor) {
  if (vendor == kIntel) return "intel-microcode";
  if (vendor == kAmd) return "amd64-microcode";
  return "";
}

std::vector<std::string> microcode_files(const RootFs& root, std::string_view vendor) {
  std::vector<std::string> out;
  if (vendor == kIntel) {
    for (auto& f : root.glob(std::string(kIntelDir) + "/*"))
      if (intel_file_name(f.substr(f.rfind('/') + 1))) out.push_back(f);
  } else if (vendor == kAmd) {
    out = root.glob(std::string(kAmdDir) + "/microcode_amd*.bin");
  }
  return out;
}

CpuId host_cpu() {
  std::ifstream in("/proc/cpuinfo");
  std::stringstream s;
  s << in.rdbuf();
  return parse_cpuinfo(s.str());
}

Result<MicrocodeMode> parse_microcode_mode(std::string_view name) {
  if (name == "auto") return MicrocodeMode::kAuto;
  if (name == "all") return MicrocodeMode::kAll;
  if (name == "none" || name == "no") return MicrocodeMode::kNone;
  return Error::msg("unknown --microcode '" + std::string(name) +
                    "': use auto (this CPU's vendor), all (every vendor) or none");
}

CpuId parse_cpuinfo(std::string_view text) {
  CpuId cpu;
  bool seen_vendor = false;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.empty() && seen_vendor) break;  // end of the first processor
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon), value = line.substr(colon + 1);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    auto number = [&] {
      return static_cast<unsigned>(std::strtoul(std::string(value).c_str(), nullptr, 10));
    };
    if (key == "vendor_id") {
      cpu.vendor = std::string(value);
      seen_vendor = true;
    } else if (key == "cpu family") {
      cpu.family = number();
    } else if (key == "model") {
      cpu.model = number();
    } else if (key == "stepping") {
      cpu.stepping = number();
    }
  }
  return cpu;
}

std::string microcode_image_path(std::string_view vendor) {
  return "kernel/x86/microcode/" + std::string(vendor) + ".bin";
}

MicrocodePlan plan_microcode(const RootFs& root, const MicrocodeOptions& options) {
  MicrocodePlan plan;
  if (options.mode == MicrocodeMode::kNone) {
    plan.summary = "none (--microcode none)";
    return plan;
  }
  const bool other = options.mode == MicrocodeMode::kAuto && options.other_machine;
  if (other) {  // the target's installed packages say which CPU it is for
    std::vector<std::string> vendors;
    for (const char* v : {kIntel, kAmd})
      if (!microcode_files(root, v).empty()) vendors.push_back(v);
    if (vendors.empty()) {
      plan.summary = "none (the root has neither intel-microcode nor amd64-microcode)";
      plan.warnings.push_back(
          "no early microcode: " + root.host_path(kIntelDir) + " and " + root.host_path(kAmdDir) +
          " are empty; install the package of the CPU this root boots on (intel-microcode or "
          "amd64-microcode; Debian: component non-free-firmware) in it, or set `microcode = "
          "none` in its zinitrd.conf");
      return plan;
    }
    for (const auto& v : vendors) {
      MicrocodeBlob blob{v, microcode_files(root, v)};
      plan.summary += (plan.summary.empty() ? "" : ", ") + v + ".bin (" +
                      std::to_string(blob.sources.size()) + " files; the root's packages)";
      plan.blobs.push_back(std::move(blob));
    }
    return plan;
  }
  CpuId cpu = options.cpu ? *options.cpu : host_cpu();
  std::vector<std::string> vendors;
  if (options.mode == MicrocodeMode::kAll) {
    vendors = {kIntel, kAmd};
  } else if (cpu.vendor == kIntel || cpu.vendor == kAmd) {
    vendors = {cpu.vendor};
  } else {
    plan.summary = "none (this CPU's vendor '" + cpu.vendor + "' has no early microcode)";
    return plan;
  }
  bool one_cpu = options.mode == MicrocodeMode::kAuto && options.host_only;
  std::vector<std::string> missing;
  for (const auto& v : vendors) {
    MicrocodeBlob blob{v, one_cpu ? cpu_files(root, cpu) : microcode_files(root, v)};
    if (!blob.sources.empty()) {
      plan.summary += (plan.summary.empty() ? "" : ", ") + v + ".bin (" +
                      std::to_string(blob.sources.size()) + " files)";
      plan.blobs.push_back(std::move(blob));
    } else if (one_cpu && !microcode_files(root, v).empty()) {
      // The package is there, it has nothing for this CPU: nothing to update, nothing to say.
      plan.summary = "none (" + std::string(microcode_package(v)) + " has no update for " +
                     cpu_name(cpu) + ")";
    } else {
      missing.push_back(v);
    }
  }
  for (const auto& v : missing)
    plan.warnings.push_back(
        "no early microcode for " + v + ": " + root.host_path(v == kIntel ? kIntelDir : kAmdDir) +
        " has none; install " + microcode_package(v) +
        " (Debian: component non-free-firmware) so the CPU gets its fixes before anything runs, "
        "or set `microcode = none` in zinitrd.conf");
  if (plan.summary.empty()) plan.summary = "none";
  return plan;
}

std::optional<std::vector<std::string_view>> intel_updates(std::string_view file) {
  constexpr size_t kHeader = 48;  // struct microcode_header_intel
  std::vector<std::string_view> out;
  while (!file.empty()) {
    if (file.size() < kHeader) return std::nullopt;
    const uint32_t header_version = le32(file, 0), loader_version = le32(file, 20);
    uint32_t data_size = le32(file, 28), total_size = le32(file, 32);
    if (data_size == 0) data_size = 2000;  // the format's defaults for a zero size
    if (total_size == 0) total_size = 2048;
    if (header_version != 1 || loader_version != 1 || total_size % 4 != 0 ||
        total_size < kHeader + data_size || total_size > file.size())
      return std::nullopt;
    out.push_back(file.substr(0, total_size));
    file.remove_prefix(total_size);
  }
  return out;
}

Result<ImageTree> microcode_tree(const RootFs& root, const MicrocodePlan& plan,
                                 MicrocodeStats* stats) {
  ImageTree tree;
  for (const auto& blob : plan.blobs) {
    std::string data;
    std::vector<std::string> contents;
    for (const auto& src : blob.sources) {
      auto content = root.read_file(src);
      if (!content)
        return Error::msg(content.error().message + ": the microcode of " + blob.vendor +
                          " cannot be read; reinstall " + microcode_package(blob.vendor) +
                          " or build with --microcode none");
      contents.push_back(std::move(*content));
    }
    // Intel's files repeat an update under every signature it serves: each once is enough, the
    // loader matches extended signatures itself. A file that does not parse is kept whole.
    std::unordered_set<std::string_view> seen;
    for (const auto& content : contents) {
      auto updates = blob.vendor == kIntel ? intel_updates(content) : std::nullopt;
      if (!updates) {
        data += content;
        continue;
      }
      for (auto u : *updates) {
        if (seen.insert(u).second) {
          data += u;
        } else if (stats) {
          ++stats->duplicates_dropped;
          stats->duplicate_bytes += u.size();
        }
      }
    }
    if (auto st = tree.add_data("/" + microcode_image_path(blob.vendor), std::move(data)); !st)
      return st.error();
  }
  return tree;
}

Result<uint64_t> write_microcode_segment(const ImageTree& tree, int64_t mtime, int fd) {
  WriteOptions w;
  w.compression = Compression::kNone;
  w.mtime = mtime;
  auto stats = write_image(tree, w, fd);
  if (!stats) return stats.error();
  uint64_t bytes = stats->compressed_bytes;
  // newc pads every member to 4 bytes, so this is a safety net for the next segment's alignment.
  static const char zeros[4] = {};
  if (size_t pad = (4 - bytes % 4) % 4; pad > 0) {
    if (::write(fd, zeros, pad) != static_cast<ssize_t>(pad))
      return Error::sys("write image", "", errno);
    bytes += pad;
  }
  return bytes;
}

}  // namespace zinitrd::gen
