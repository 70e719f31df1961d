// zfs_keys.cc: key loading for encrypted roots (see zfs_keys.h).
#include "zfs_keys.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "console_keymap.h"
#include "fd.h"
#include "log.h"
#include "process.h"
#include "util.h"
#include "zfs_tools.h"

namespace zinitrd::rt {
namespace {

constexpr int64_t kLoadKeyTimeoutMs = 120'000;  // PBKDF2 under emulation takes seconds, not minutes

// Overwrites a secret before its memory is freed.
void wipe(std::string& s) {
  if (!s.empty()) ::explicit_bzero(s.data(), s.size());
  s.clear();
}

Failure key_failure(const EncryptionRoot& root, std::string summary, const KeyAttempt* last) {
  Failure f;
  f.stage = "mount";
  f.summary = "cannot load the encryption key of '" + root.name + "': " + summary;
  if (last) {
    f.command = last->command;
    f.output = last->output;
    f.status = last->status;
  }
  return f;
}

// The typed-secret flow for ROOT: secrets that unlocked other roots first, then up to TRIES
// prompts.
std::optional<Failure> prompt_for(const EncryptionRoot& root, const KeyOptions& options,
                                  const KeyIo& io, std::vector<std::string>& good) {
  const bool hex = root.keyformat == "hex";
  if (!hex) {
    for (const auto& secret : good) {
      KeyAttempt a = io.load(root, &secret);
      if (a.ok) {
        io.say("the passphrase typed before also unlocked '" + root.name + "'");
        return std::nullopt;
      }
    }
  }
  KeyAttempt last;
  for (int attempt = 1; attempt <= options.tries; ++attempt) {
    std::string prompt = std::string("Enter ") + (hex ? "the hex key" : "passphrase") + " for '" +
                         root.name + "' (try " + std::to_string(attempt) + " of " +
                         std::to_string(options.tries) + "): ";
    std::optional<std::string> typed = io.ask(prompt);
    if (!typed) {
      Failure f = key_failure(root, "no console to ask for its passphrase on", nullptr);
      f.hints.push_back(
          "boot with console= naming a console that has a keyboard, or use a key file "
          "(keylocation=file:///etc/zfs/keys/NAME.key) and rebuild the image");
      f.hints.push_back("in the rescue shell: zfs load-key " + root.name + ", then exit");
      return f;
    }
    last = io.load(root, &*typed);
    if (last.ok) {
      if (!hex && std::find(good.begin(), good.end(), *typed) == good.end()) good.push_back(*typed);
      wipe(*typed);
      return std::nullopt;
    }
    wipe(*typed);
    if (attempt < options.tries)
      io.say("wrong " + std::string(hex ? "key" : "passphrase") + " for '" + root.name + "'" +
             (last.output.empty() ? std::string() : " (zfs: " + last.output + ")"));
  }
  Failure f = key_failure(
      root, std::to_string(options.tries) + " wrong " + (hex ? "keys" : "passphrases"), &last);
  f.hints.push_back("in the rescue shell: zfs load-key " + root.name +
                    " (it asks again), then exit to continue the boot");
  f.hints.push_back("or exit the rescue shell at once to be asked " +
                    std::to_string(options.tries) + " more times");
  return f;
}

}  // namespace

std::vector<EncryptionRoot> parse_encryption_roots(std::string_view output) {
  std::vector<EncryptionRoot> out;
  for (const auto& line : split_all(output, '\n')) {
    auto f = split_all(line, '\t');
    if (f.size() != 4 || f[0].empty()) continue;
    out.push_back(EncryptionRoot{f[0], f[1], f[2], f[3]});
  }
  return out;
}

std::string key_file_path(std::string_view keylocation) {
  constexpr std::string_view kScheme = "file://";
  if (!starts_with(keylocation, kScheme)) return {};
  return std::string(keylocation.substr(kScheme.size()));
}

bool format_allows_prompt(std::string_view keyformat) {
  return keyformat == "passphrase" || keyformat == "hex";
}

std::optional<Failure> load_keys(const std::vector<EncryptionRoot>& roots,
                                 const KeyOptions& options, const KeyIo& io) {
  // Passphrases that unlocked a root (or a LUKS device before), tried on the next ones.
  std::vector<std::string> good;
  if (options.earlier_secrets) good = *options.earlier_secrets;
  struct Wiper {
    std::vector<std::string>& v;
    ~Wiper() {
      for (auto& s : v) wipe(s);
    }
  } wiper{good};
  for (const auto& root : roots) {
    if (root.keystatus == "available") continue;
    const std::string path = key_file_path(root.keylocation);
    const bool typeable = format_allows_prompt(root.keyformat);
    if (root.keylocation == "prompt") {
      if (!typeable) {
        Failure f = key_failure(root, "keyformat=raw keys cannot be typed at a prompt", nullptr);
        f.hints.push_back("store the key in a file: zfs set keylocation=file:///etc/zfs/keys/" +
                          root.name.substr(0, root.name.find('/')) + ".key " + root.name +
                          ", then rebuild the image (zinitrd embeds it)");
        f.retryable = false;
        return f;
      }
      if (auto f = prompt_for(root, options, io, good)) return f;
      continue;
    }
    if (!path.empty()) {
      if (io.wait_for_file(path, options.file_wait_ms)) {
        KeyAttempt a = io.load(root, nullptr);
        if (a.ok) continue;
        if (!typeable) {
          Failure f = key_failure(root, "its key file " + path + " did not unlock it", &a);
          f.hints.push_back("the key file in the image is stale: rebuild the image");
          f.retryable = false;
          return f;
        }
        io.say("the key file " + path + " did not unlock '" + root.name + "' (" + a.status +
               "); asking for the " + (root.keyformat == "hex" ? "hex key" : "passphrase") +
               " instead");
      } else {
        if (!typeable) {
          Failure f = key_failure(root, "its key file " + path + " is missing", nullptr);
          f.hints.push_back("rebuild the image on the system that has " + path +
                            " (zinitrd embeds the key files of keylocation=file://), or name it "
                            "in /etc/zinitrd.conf: keyfile = " +
                            path);
          f.hints.push_back("in the rescue shell: put the key at " + path + ", then exit");
          return f;
        }
        io.say("the key file " + path + " of '" + root.name + "' did not appear within " +
               format_seconds(options.file_wait_ms) + "; asking for the " +
               (root.keyformat == "hex" ? "hex key" : "passphrase") + " instead");
      }
      if (auto f = prompt_for(root, options, io, good)) return f;
      continue;
    }
    KeyAttempt a = io.load(root, nullptr);
    if (!a.ok) {
      Failure f =
          key_failure(root, "keylocation=" + root.keylocation + " did not give its key", &a);
      f.hints.push_back("in the rescue shell: zfs load-key -L prompt " + root.name + ", then exit");
      return f;
    }
  }
  return std::nullopt;
}

std::vector<std::string> console_devices(const std::vector<std::string>& consoles) {
  std::vector<std::string> out;
  for (const auto& c : consoles) {
    std::string name = c.substr(0, c.find(','));
    if (name.empty() || name == "null" || name.find('/') != std::string::npos) continue;
    std::string dev = "/dev/" + name;
    if (std::find(out.begin(), out.end(), dev) == out.end()) out.push_back(dev);
  }
  return out;
}

std::optional<std::string> ask_without_echo(const std::vector<std::string>& consoles,
                                            const std::string& prompt,
                                            const PromptBackground& background) {
  ensure_console_keymap();  // the passphrase is typed in the system's layout
  struct Saved {
    int fd;
    struct termios tio;
  };
  std::vector<PromptTty> ttys;
  auto open_tty = [&](const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (fd.valid()) ttys.push_back(PromptTty{std::move(fd), path, {}});
  };
  open_tty("/dev/console");
  // /dev/console is the last console= only: prompt on the others too, but not twice on one tty.
  dev_t console_dev = 0;
  if (!ttys.empty()) {
    unsigned int dev = 0;
    if (::ioctl(ttys[0].fd.get(), TIOCGDEV, &dev) == 0) console_dev = dev;
  }
  for (const auto& path : console_devices(consoles)) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || st.st_rdev == console_dev) continue;
    open_tty(path);
  }
  UnlockClients* remote = open_remote_secrets();  // unlock over SSH, when set up
  if (ttys.empty() && !(remote && remote->active())) return std::nullopt;
  std::vector<Saved> saved;
  for (auto& t : ttys) {
    struct termios tio;
    if (::tcgetattr(t.fd.get(), &tio) == 0) {
      saved.push_back({t.fd.get(), tio});
      tio.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHOE | ECHOK);
      tio.c_lflag |= ICANON;
      ::tcsetattr(t.fd.get(), TCSAFLUSH, &tio);  // also drops keys typed before the prompt
    }
  }
  auto answer = ask_secret(ttys, remote, prompt, background);
  for (const auto& s : saved) ::tcsetattr(s.fd, TCSANOW, &s.tio);  // fds are still open here
  if (answer) log_info("answered %s", answer->via.c_str());
  if (!answer) return std::nullopt;
  return std::move(answer->secret);
}

std::optional<Failure> load_encryption_keys(const ZfsTools& tools,
                                            const std::vector<std::string>& names,
                                            const KeyOptions& options) {
  if (names.empty()) return std::nullopt;
  std::vector<std::string> args{"list", "-H", "-o", "name,keyformat,keylocation,keystatus"};
  args.insert(args.end(), names.begin(), names.end());
  auto r = tools.zfs(args);
  if (!r) return ZfsTools::failure("mount", "cannot run zfs", r.error());
  if (!r->ok())
    return ZfsTools::failure("mount", "cannot read the key properties of " + join(names, ", "), *r);
  // In the order the datasets need them (zfs list sorts by name).
  std::vector<EncryptionRoot> listed = parse_encryption_roots(r->output), roots;
  for (const auto& n : names)
    for (const auto& e : listed)
      if (e.name == n) roots.push_back(e);

  KeyIo io;
  io.load = [&](const EncryptionRoot& root, const std::string* secret) {
    std::vector<std::string> argv{tools.zfs_path(), "load-key"};
    if (secret && root.keylocation != "prompt") {
      argv.push_back("-L");
      argv.push_back("prompt");
    }
    argv.push_back(root.name);
    log_info("loading the encryption key of '%s'%s", root.name.c_str(),
             secret ? "" : (" from " + root.keylocation).c_str());
    KeyAttempt a;
    a.command = format_command(argv);
    // zfs reads a passphrase from a pipe up to the newline (libzfs get_key_material_raw()).
    std::string input = secret ? *secret + "\n" : std::string();
    auto run = secret ? run_process(argv, tools.env(), kLoadKeyTimeoutMs, input)
                      : run_process(argv, tools.env(), kLoadKeyTimeoutMs);
    wipe(input);
    if (!run) {
      a.status = run.error().message;
      return a;
    }
    a.ok = run->ok();
    a.output = std::string(trim(run->output));
    a.status = run->describe();
    if (!a.ok) log_debug("%s: %s (%s)", a.command.c_str(), a.output.c_str(), a.status.c_str());
    return a;
  };
  io.ask = [&](const std::string& prompt) {
    return ask_without_echo(options.consoles, prompt, options.background);
  };
  io.wait_for_file = [](const std::string& path, int64_t ms) {
    const int64_t end = monotonic_ms() + ms;
    for (;;) {
      if (path_exists(path)) return true;
      if (monotonic_ms() >= end) return false;
      sleep_ms(100);
    }
  };
  io.say = [](const std::string& text) {
    log_notice("%s", text.c_str());
    remote_say(text);  // "failures are written to both": the SSH session hears it too
  };
  return load_keys(roots, options, io);
}

}  // namespace zinitrd::rt
