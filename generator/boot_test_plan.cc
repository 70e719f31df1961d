// boot_test_plan.cc: the boot test's VM and the reading of its console (see boot_test_plan.h).
#include "boot_test_plan.h"

#include <algorithm>

namespace zinitrd::gen {
namespace {

constexpr size_t kTailLines = 30;

// Parameters of the real machine's console or boot loader: meaningless, or harmful (an earlycon
// at the real UART's MMIO address), in the VM.
bool dropped_key(std::string_view key) {
  return key == "console" || key == "BOOT_IMAGE" || key == "initrd" || key == "earlycon" ||
         key == "earlyprintk" || key == "panic" || key == kBootTestParam;
}

// The words of a kernel command line, quotes kept: the kernel's next_arg() grouping.
std::vector<std::string> cmdline_words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < s.size()) {
    while (i < s.size() && space(s[i])) ++i;
    if (i >= s.size()) break;
    size_t start = i;
    bool quoted = false;
    for (; i < s.size() && (quoted || !space(s[i])); ++i)
      if (s[i] == '"') quoted = !quoted;
    out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return lines;
}

}  // namespace

std::string boot_test_cmdline(std::string_view machine, bool tcg,
                              std::vector<std::string>* dropped) {
  std::string out;
  std::vector<std::string> words = cmdline_words(machine);
  for (size_t n = 0; n < words.size(); ++n) {
    const std::string& w = words[n];
    if (w == "--") {
      if (dropped && n + 1 < words.size()) dropped->push_back("the init arguments after --");
      break;
    }
    std::string key = w.substr(0, w.find('='));
    key.erase(std::remove(key.begin(), key.end(), '"'), key.end());
    if (dropped_key(key)) {
      if (dropped) dropped->push_back(w);
      continue;
    }
    out += w + " ";
  }
  if (tcg) out += "no_timer_check ";
  out += "console=ttyS0 panic=-1 " + std::string(kBootTestParam) + "=1";
  return out;
}

const char* disk_bus_name(DiskBus bus) {
  switch (bus) {
    case DiskBus::kVirtio:
      return "virtio-blk";
    case DiskBus::kNvme:
      return "nvme";
    case DiskBus::kSata:
      return "sata (ahci)";
    case DiskBus::kScsi:
      return "scsi (virtio-scsi)";
  }
  return "?";
}

std::optional<DiskBus> choose_disk_bus(const std::function<bool(std::string_view)>& has_module) {
  if (has_module("virtio_blk") && has_module("virtio_pci")) return DiskBus::kVirtio;
  if (has_module("nvme")) return DiskBus::kNvme;
  if (has_module("ahci") && has_module("sd_mod")) return DiskBus::kSata;
  if (has_module("virtio_scsi") && has_module("virtio_pci") && has_module("sd_mod"))
    return DiskBus::kScsi;
  return std::nullopt;
}

std::string qemu_escape(std::string_view path) {
  std::string out;
  for (char c : path) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

std::vector<std::string> qemu_argv(const VmPlan& p) {
  std::vector<std::string> a = {
      p.qemu,       "-machine",  "q35",      "-m",      std::to_string(p.memory_mb),
      "-smp",       "2",         "-display", "none",    "-monitor",
      "none",       "-parallel", "none",     "-serial", "file:" + p.console_file,
      "-no-reboot", "-nic",      "none",     "-kernel", p.kernel,
      "-initrd",    p.initrd,    "-append",  p.append};
  // QEMU falls back to the next -accel when KVM cannot start.
  if (p.kvm) a.insert(a.end(), {"-accel", "kvm"});
  a.insert(a.end(), {"-accel", "tcg"});
  if (p.bus == DiskBus::kScsi) a.insert(a.end(), {"-device", "virtio-scsi-pci,id=scsi0"});
  for (size_t i = 0; i < p.disks.size(); ++i) {
    const VmDisk& d = p.disks[i];
    const std::string n = std::to_string(i);
    // The real disk: opened read-only (QEMU opens it O_RDONLY, so not even a bug in QEMU could
    // write to it); the guest's writes land in the overlay.
    a.insert(a.end(),
             {"-blockdev", std::string("driver=") + (d.block_device ? "host_device" : "file") +
                               ",node-name=base" + n + "-file,filename=" + qemu_escape(d.base) +
                               ",read-only=on" + (d.block_device ? ",cache.direct=on" : "")});
    a.insert(a.end(), {"-blockdev", "driver=" + d.format + ",node-name=base" + n + ",file=base" +
                                        n + "-file,read-only=on"});
    a.insert(a.end(),
             {"-blockdev", "driver=qcow2,node-name=disk" + n + ",file.driver=file,file.filename=" +
                               qemu_escape(d.overlay) + ",backing=base" + n});
    std::string dev;
    switch (p.bus) {
      case DiskBus::kVirtio:
        dev = "virtio-blk-pci,drive=disk" + n;
        break;
      case DiskBus::kNvme:
        dev = "nvme,drive=disk" + n + ",serial=zinitrd" + n;
        break;
      case DiskBus::kSata:
        dev = "ide-hd,drive=disk" + n + ",bus=ide." + n;
        break;
      case DiskBus::kScsi:
        dev = "scsi-hd,drive=disk" + n + ",bus=scsi0.0";
        break;
    }
    a.insert(a.end(), {"-device", dev});
  }
  return a;
}

ConsoleFindings read_console(std::string_view console) {
  ConsoleFindings f;
  std::vector<std::string> lines = split_lines(console);
  for (const auto& line : lines) {
    if (auto v = parse_boot_verdict(line)) {
      f.verdict = std::move(v);
    } else if (auto l = parse_boot_log_line(line)) {
      f.boot_log.push_back(std::move(*l));
    } else if (size_t at = line.find("zinitrd: "); at != std::string::npos) {
      f.zinitrd_lines.push_back(line.substr(at + 9));
    }
    if (f.panic.empty() && line.find("Kernel panic - not syncing") != std::string::npos)
      f.panic = line.substr(line.find("Kernel panic"));
  }
  // A prompt that was answered is followed by the rest of the boot; one the console ends with
  // (kernel messages may still come after it) is what the boot waits for.
  for (size_t i = lines.size(); i-- > 0 && !f.verdict;) {
    size_t at = lines[i].find("Enter passphrase for '");
    if (at == std::string::npos) continue;
    size_t end = lines[i].find(':', at);
    f.passphrase_prompt = lines[i].substr(at, end == std::string::npos ? end : end - at);
    break;
  }
  size_t from = lines.size() > kTailLines ? lines.size() - kTailLines : 0;
  f.tail.assign(lines.begin() + static_cast<std::ptrdiff_t>(from), lines.end());
  return f;
}

}  // namespace zinitrd::gen
