// luks_unlock.cc: see luks_unlock.h.
#include "luks_unlock.h"

#include <string.h>

#include <algorithm>

namespace zinitrd::rt {
namespace {

void wipe(std::string& s) {
  if (!s.empty()) ::explicit_bzero(s.data(), s.size());
  s.clear();
}

std::string describe(const LuksTarget& t, const std::string& device) {
  return "LUKS device '" + t.name + "' on " + device;
}

Failure luks_failure(const LuksTarget& t, const std::string& device, std::string summary,
                     const LuksAttempt* last) {
  Failure f;
  f.stage = "luks";
  f.summary = "cannot open " + describe(t, device) + ": " + summary;
  if (last) {
    f.command = last->command;
    f.output = last->output;
    f.status = last->status;
  }
  return f;
}

std::string shell_hint(const LuksTarget& t, const std::string& device) {
  return "in the rescue shell: cryptsetup open " + device + " " + t.name +
         " (it asks for the passphrase), then exit to continue the boot";
}

// A failure of cryptsetup that another passphrase cannot cure.
Failure hard_failure(const LuksTarget& t, const std::string& device, const LuksAttempt& a) {
  Failure f = luks_failure(t, device, "cryptsetup failed (" + a.status + ")", &a);
  f.hints.push_back(
      "if cryptsetup names a cipher the kernel lacks, rebuild the image with its module "
      "(zinitrd build --kmod MODULE)");
  f.hints.push_back(shell_hint(t, device));
  return f;
}

}  // namespace

void SecretStore::add(const std::string& secret) {
  if (std::find(secrets_.begin(), secrets_.end(), secret) == secrets_.end())
    secrets_.push_back(secret);
}

void SecretStore::forget() {
  for (auto& s : secrets_) wipe(s);
  secrets_.clear();
}

std::optional<Failure> unlock_luks(const LuksTarget& t, const std::string& device, int tries,
                                   const LuksIo& io, SecretStore& secrets) {
  if (!t.key_file.empty()) {
    if (io.key_exists(t.key_file)) {
      LuksAttempt a = io.open(t, device, nullptr);
      if (a.ok) return std::nullopt;
      if (!a.wrong_secret) return hard_failure(t, device, a);
      io.say("the key file " + t.key_file + " did not open " + describe(t, device) +
             "; asking for its passphrase instead");
    } else {
      io.say("the key file " + t.key_file + " of " + describe(t, device) +
             " is not in the image; asking for its passphrase instead (rebuild the image on "
             "the system that has the key file to boot without a prompt)");
    }
  }
  for (const auto& secret : secrets.all()) {
    LuksAttempt a = io.open(t, device, &secret);
    if (a.ok) {
      io.say("the passphrase typed before also opened " + describe(t, device));
      return std::nullopt;
    }
    if (!a.wrong_secret) return hard_failure(t, device, a);
  }
  LuksAttempt last;
  for (int attempt = 1; attempt <= tries; ++attempt) {
    std::optional<std::string> typed =
        io.ask("Enter passphrase for " + describe(t, device) + " (try " + std::to_string(attempt) +
               " of " + std::to_string(tries) + "): ");
    if (!typed) {
      Failure f = luks_failure(t, device, "no console to ask for its passphrase on", nullptr);
      f.hints.push_back(
          "boot with console= naming a console that has a keyboard, or name a key file for it "
          "in /etc/crypttab and rebuild the image");
      f.hints.push_back(shell_hint(t, device));
      return f;
    }
    last = io.open(t, device, &*typed);
    if (last.ok) {
      secrets.add(*typed);
      wipe(*typed);
      return std::nullopt;
    }
    wipe(*typed);
    if (!last.wrong_secret) return hard_failure(t, device, last);
    if (attempt < tries) io.say("wrong passphrase for " + describe(t, device) + "; try again");
  }
  Failure f = luks_failure(t, device, std::to_string(tries) + " wrong passphrases", &last);
  f.hints.push_back(shell_hint(t, device));
  f.hints.push_back("or exit the rescue shell at once to be asked " + std::to_string(tries) +
                    " more times");
  return f;
}

}  // namespace zinitrd::rt
