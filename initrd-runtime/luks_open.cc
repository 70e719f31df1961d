// luks_open.cc: see luks_open.h.
#include "luks_open.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "block_devices.h"
#include "crypttab.h"
#include "device_scan.h"
#include "fd.h"
#include "log.h"
#include "module_loader.h"
#include "process.h"
#include "secret_prompt.h"
#include "util.h"
#include "zfs_tools.h"

namespace zinitrd::rt {
namespace {

// Deriving a key with argon2 (LUKS2's default) takes seconds on slow machines, minutes never.
constexpr int64_t kOpenTimeoutMs = 120'000;
// Waiting this long for a wanted device is worth a word on the console.
constexpr int64_t kNoticeAfterMs = 3'000;
// cryptsetup's exit codes (cryptsetup(8) RETURN CODES).
constexpr int kExitNoKey = 2;
constexpr int kExitExists = 5;
// What cryptsetup needs whatever the cipher: dm-crypt, and the kernel's crypto API for user
// space, with which it decrypts the keyslot area (else it falls back to a temporary dm device).
const std::vector<std::string> kBaseModules = {"dm_crypt", "algif_skcipher"};

std::string no_dashes(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '-') out += c;
  return out;
}

std::string first_line(const std::string& path) {
  auto text = read_file(path, 4096);
  return text ? std::string(trim(*text)) : std::string();
}

std::string describe_source(const LuksTarget& t) {
  return "'" + t.name + "' (" + t.source + ", from " + t.origin + ")";
}

}  // namespace

bool luks_target_matches(const LuksTarget& t, const std::string& device, const LuksHeader& h) {
  if (!t.uuid.empty()) return no_dashes(t.uuid) == no_dashes(h.uuid);
  if (!t.label.empty()) return t.label == h.label;
  return !t.path.empty() && t.path == device;
}

std::string dm_crypt_luks_uuid(std::string_view dm_uuid) {
  // CRYPT-LUKS1-<32 hex>-<name> or CRYPT-LUKS2-<32 hex>-<name> (libcryptsetup's dm UUIDs).
  for (std::string_view p : {"CRYPT-LUKS1-", "CRYPT-LUKS2-"}) {
    if (!starts_with(dm_uuid, p)) continue;
    std::string_view rest = dm_uuid.substr(p.size());
    std::string u(rest.substr(0, rest.find('-')));
    return u.size() == 32 ? to_lower(u) : std::string();
  }
  return {};
}

void LuksOpener::configure(const BootConfig& config, const LuksRequest& request) {
  config_ = &config;
  targets_.clear();
  std::vector<std::string> notes;
  for (auto& t : plan_luks_targets(config.luks, request, notes)) {
    if (t.uuid.empty() && t.label.empty() && !crypttab_source_findable(t.source)) {
      log_warning(
          "LUKS device %s: %s cannot be found without udev; it is not opened (name it by "
          "UUID=... in /etc/crypttab and rebuild the image, or boot with rd.luks.uuid=UUID)",
          describe_source(t).c_str(), t.source.c_str());
      continue;
    }
    Wanted w;
    CrypttabOptions o = interpret_crypttab_options(t.options);
    w.tries = o.tries;
    w.target = std::move(t);
    targets_.push_back(std::move(w));
  }
  for (const auto& n : notes) log_info("%s", n.c_str());
  if (!targets_.empty() && find_program("cryptsetup", kProgramDirs).empty())
    log_warning(
        "LUKS devices are to be opened (%zu) but this image has no cryptsetup: rebuild it with "
        "`zinitrd build --add luks`",
        targets_.size());
}

void LuksOpener::scan() {
  // The machine's devices as the other scans list them (block_devices.h: nodes by DEVNAME, no
  // optical, floppy, loop or ram drives), in name order.
  std::vector<BlockDevice> devices = block_devices(system_.sys_class_block, system_.dev);
  std::sort(devices.begin(), devices.end(),
            [](const BlockDevice& a, const BlockDevice& b) { return a.name < b.name; });
  mapped_.clear();
  std::vector<BlockDevice> unread;
  for (BlockDevice& b : devices) {
    if (b.devnum.empty()) continue;  // gone
    const std::string sys = system_.sys_class_block + "/" + b.name;
    std::string dm_uuid = first_line(sys + "/dm/uuid");
    if (starts_with(dm_uuid, "CRYPT-")) {  // a mapping: its content is never a LUKS header
      mapped_[first_line(sys + "/dm/name")] = dm_crypt_luks_uuid(dm_uuid);
      continue;
    }
    auto it = probed_.find(b.name);
    if (it != probed_.end() && it->second.dev == b.devnum) continue;
    unread.push_back(std::move(b));
  }
  // Read as the other scans read them (device_scan.h): a disk that does not answer (a dying
  // one's driver retrying each read) is looked at again next time, not waited for.
  for (const ScannedDevice& s : scan_devices(unread)) {
    if (s.start.empty()) continue;  // no node yet: looked at again next time
    const std::string& name = s.device.name;
    Probe p{s.device.devnum, s.device.path, parse_luks_header(s.start.substr(0, kLuksProbeBytes))};
    if (p.header)
      log_debug("/dev/%s: LUKS%d UUID %s%s", name.c_str(), p.header->version,
                p.header->uuid.c_str(),
                p.header->label.empty() ? "" : (" label " + p.header->label).c_str());
    probed_[name] = std::move(p);
  }
}

void LuksOpener::load_modules(ModuleLoader* loader, const LuksHeader& header) {
  if (!loader || !config_) return;
  std::vector<std::string> names;
  if (!modules_done_) names = kBaseModules;
  modules_done_ = true;
  for (const auto& c : header.ciphers)
    for (auto& m : luks_cipher_modules(c)) names.push_back(std::move(m));
  // Candidates the image does not carry are built in or of another architecture; each is tried
  // once per boot (aesni_intel on a CPU without AES-NI fails the same way for every device).
  std::vector<std::string> carried;
  for (const auto& n : names)
    if (config_->find_module(n) && !loader->present(n) && modules_tried_.insert(n).second)
      carried.push_back(n);
  if (carried.empty()) return;
  LoadReport r = loader->load_report(carried);
  if (!r.ok()) {
    if (r.only_no_device())
      log_debug("LUKS modules this CPU cannot use: %s", r.describe().c_str());
    else
      log_warning("LUKS: %s (cryptsetup says below if the device needs it)", r.describe().c_str());
  }
}

LuksIo LuksOpener::make_io(const std::vector<std::string>& consoles,
                           const PromptBackground& background) {
  LuksIo io;
  const std::string cryptsetup = find_program("cryptsetup", kProgramDirs);
  const std::vector<std::string> env = zfs_environment(*config_);
  io.open = [cryptsetup, env](const LuksTarget& t, const std::string& device,
                              const std::string* secret) {
    std::vector<std::string> argv{cryptsetup, "open", "--type", "luks", device, t.name};
    for (const auto& a : interpret_crypttab_options(t.options).cryptsetup_args) {
      // keyfile-offset/-size apply to key files; on a typed passphrase they would cut it.
      if (secret && starts_with(a, "--keyfile-")) continue;
      argv.push_back(a);
    }
    if (!secret) argv.insert(argv.end(), {"--key-file", t.key_file});
    log_info("opening LUKS device %s as /dev/mapper/%s%s", device.c_str(), t.name.c_str(),
             secret ? "" : (" with the key file " + t.key_file).c_str());
    LuksAttempt a;
    a.command = format_command(argv);
    // Without --key-file, cryptsetup reads a passphrase from a pipe up to the newline.
    std::string input = secret ? *secret + "\n" : std::string();
    auto run = secret ? run_process(argv, env, kOpenTimeoutMs, input)
                      : run_process(argv, env, kOpenTimeoutMs);
    if (!input.empty()) ::explicit_bzero(input.data(), input.size());
    if (!run) {
      a.status = run.error().message;
      return a;
    }
    a.output = std::string(trim(run->output));
    a.status = run->describe();
    a.ok = run->ok() ||
           (run->exit_code == kExitExists && a.output.find("already exists") != std::string::npos);
    a.wrong_secret = run->exit_code == kExitNoKey;
    if (!a.ok) log_debug("%s: %s (%s)", a.command.c_str(), a.output.c_str(), a.status.c_str());
    return a;
  };
  io.key_exists = [](const std::string& path) { return path_exists(path); };
  io.ask = [consoles, background](const std::string& prompt) {
    return ask_without_echo(consoles, prompt, background);
  };
  io.say = [](const std::string& text) {
    log_notice("%s", text.c_str());
    remote_say(text);  // an SSH session that answered hears it too (wrong passphrase, try again)
  };
  return io;
}

std::optional<Failure> LuksOpener::open_present(ModuleLoader* loader,
                                                const std::vector<std::string>& consoles,
                                                const PromptBackground& background) {
  if (targets_.empty() || !config_) return std::nullopt;
  if (std::all_of(targets_.begin(), targets_.end(), [](const Wanted& w) { return w.open; }))
    return std::nullopt;
  if (first_look_ms_ < 0) first_look_ms_ = monotonic_ms();
  scan();
  std::optional<LuksIo> io;
  for (auto& w : targets_) {
    if (w.open) continue;
    if (mapped_.count(w.target.name)) {  // opened by an earlier try or in the rescue shell
      w.open = true;
      log_info("LUKS device '%s' is already open", w.target.name.c_str());
      continue;
    }
    for (const auto& [name, probe] : probed_) {
      const std::string& device = probe.path;
      if (!probe.header || !luks_target_matches(w.target, device, *probe.header)) continue;
      const std::string uuid = no_dashes(probe.header->uuid);
      auto other = std::find_if(mapped_.begin(), mapped_.end(),
                                [&](const auto& m) { return m.second == uuid; });
      if (other != mapped_.end()) {
        w.open = true;
        log_notice("LUKS device %s (%s) is already open as /dev/mapper/%s, not as '%s'",
                   device.c_str(), probe.header->uuid.c_str(), other->first.c_str(),
                   w.target.name.c_str());
        break;
      }
      if (find_program("cryptsetup", kProgramDirs).empty()) {
        Failure f;
        f.stage = "luks";
        f.summary = "LUKS device " + device + " is to be opened as '" + w.target.name +
                    "', but this image has no cryptsetup";
        f.hints.push_back(
            "rebuild the image with zinitrd's luks feature: it is added when /etc/crypttab names "
            "devices, or with `zinitrd build --add luks`");
        f.retryable = false;
        return f;
      }
      (void)::mkdir("/run/cryptsetup", 0700);  // cryptsetup's locks; it warns without
      load_modules(loader, *probe.header);
      if (!io) io = make_io(consoles, background);
      if (auto f = unlock_luks(w.target, device, w.tries, *io, secrets_)) return f;
      w.open = true;
      w.device = device;
      log_info("LUKS device %s is open as /dev/mapper/%s", device.c_str(), w.target.name.c_str());
      // An SSH session that answered hears it at once; its last word comes when the boot stops
      // asking (Boot: after the mount, or a failure).
      remote_say("LUKS device '" + w.target.name + "' on " + device + " is open");
      mapped_[w.target.name] = uuid;
      break;
    }
  }
  if (!announced_ && monotonic_ms() - first_look_ms_ >= kNoticeAfterMs) {
    std::vector<std::string> waiting;
    for (const auto& w : targets_)
      if (!w.open) waiting.push_back(describe_source(w.target));
    if (!waiting.empty()) {
      announced_ = true;
      log_notice("waiting for LUKS device%s %s, with the pool's disks",
                 waiting.size() > 1 ? "s" : "", join(waiting, ", ").c_str());
    }
  }
  return std::nullopt;
}

std::vector<std::string> LuksOpener::missing_hints() {
  scan();
  std::vector<std::string> hints;
  std::vector<std::string> unclaimed;
  for (const auto& [name, probe] : probed_) {
    if (!probe.header) continue;
    const std::string& device = probe.path;
    const LuksHeader& header = *probe.header;  // a lambda may not capture a binding (clang 14)
    bool claimed = std::any_of(targets_.begin(), targets_.end(), [&](const Wanted& w) {
      return luks_target_matches(w.target, device, header);
    });
    if (!claimed)
      unclaimed.push_back(device + " (UUID " + probe.header->uuid +
                          (probe.header->label.empty() ? "" : ", label " + probe.header->label) +
                          ")");
  }
  for (const auto& w : targets_) {
    if (w.open) continue;
    std::string what = !w.target.uuid.empty()    ? "a LUKS header with UUID " + w.target.uuid
                       : !w.target.label.empty() ? "a LUKS header labelled " + w.target.label
                                                 : "a LUKS header at " + w.target.path;
    hints.push_back("LUKS device " + describe_source(w.target) +
                    " did not appear: no block device has " + what +
                    (w.target.origin == "crypttab"
                         ? "; check the entry in /etc/crypttab (`cryptsetup luksUUID DEVICE` "
                           "prints a device's UUID) and rebuild the image"
                         : "; check " + w.target.origin + " on the kernel command line"));
  }
  if (!unclaimed.empty())
    hints.push_back("LUKS devices that are there but that nothing opens: " + join(unclaimed, ", ") +
                    (targets_.empty() && find_program("cryptsetup", kProgramDirs).empty()
                         ? "; this image cannot open LUKS devices: rebuild it with "
                           "`zinitrd build --add luks` (and name them in /etc/crypttab)"
                         : "; name them in /etc/crypttab and rebuild the image, or boot with "
                           "rd.luks.uuid=UUID"));
  return hints;
}

void LuksOpener::report_unopened() const {
  for (const auto& w : targets_) {
    if (w.open) continue;
    if (w.target.origin == "crypttab")
      log_info("LUKS device %s did not appear; the root pool did not need it",
               describe_source(w.target).c_str());
    else
      log_notice("LUKS device %s did not appear: no block device has a LUKS header with UUID %s",
                 describe_source(w.target).c_str(), w.target.uuid.c_str());
  }
}

}  // namespace zinitrd::rt
