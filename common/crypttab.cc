// crypttab.cc: see crypttab.h.
#include "crypttab.h"

#include <algorithm>
#include <charconv>

namespace zinitrd {
namespace {

std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t b = line.find_first_not_of(" \t\r", i);
    if (b == std::string_view::npos) break;
    size_t e = line.find_first_of(" \t\r", b);
    if (e == std::string_view::npos) e = line.size();
    out.emplace_back(line.substr(b, e - b));
    i = e;
  }
  return out;
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_number(std::string_view v) {
  unsigned long n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return !v.empty() && ec == std::errc() && p == v.data() + v.size();
}

}  // namespace

std::vector<CrypttabEntry> parse_crypttab(std::string_view text,
                                          std::vector<std::string>& problems) {
  std::vector<CrypttabEntry> out;
  int lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++lineno;
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string_view::npos || line[b] == '#') continue;
    auto w = words(line);
    const std::string where = "/etc/crypttab line " + std::to_string(lineno);
    if (w.size() < 2) {
      problems.push_back(where + ": '" + w[0] +
                         "' names no device (expected: NAME DEVICE [KEYFILE [OPTIONS]]); skipped");
      continue;
    }
    if (w.size() > 4)
      problems.push_back(where + ": more than 4 fields; '" + w[4] +
                         "' and what follows are ignored (options are separated by commas, not "
                         "blanks)");
    if (w[0].find('/') != std::string::npos) {
      problems.push_back(where + ": the name '" + w[0] + "' contains '/'; skipped");
      continue;
    }
    CrypttabEntry e;
    e.name = w[0];
    e.source = w[1];
    if (w.size() > 2 && w[2] != "none" && w[2] != "-") e.key_file = w[2];
    if (w.size() > 3) e.options = split_commas(w[3]);
    e.line = lineno;
    out.push_back(std::move(e));
  }
  return out;
}

CrypttabOptions interpret_crypttab_options(const std::vector<std::string>& options) {
  CrypttabOptions o;
  for (const std::string& opt : options) {
    size_t eq = opt.find('=');
    std::string key = opt.substr(0, eq);
    std::string value = eq == std::string::npos ? std::string() : opt.substr(eq + 1);
    auto numeric = [&](const char* arg) {
      if (is_number(value))
        o.cryptsetup_args.push_back(std::string(arg) + "=" + value);
      else
        o.ignored.push_back(opt + ": not a number");
    };
    if (key == "luks" || key == "initramfs" || key == "nofail" || key == "noearly" ||
        key == "_netdev" || key == "timeout" || key == "keyfile-timeout" || key == "headless" ||
        key == "password-echo" || key == "sector-size" || key == "verify" ||
        starts_with(key, "x-systemd.") || starts_with(key, "x-initrd.")) {
      // What systemd or cryptsetup's tools do with these does not change how the device opens.
    } else if (key == "noauto") {
      o.noauto = true;
    } else if (key == "discard" || key == "allow-discards") {
      o.cryptsetup_args.push_back("--allow-discards");
    } else if (key == "readonly" || key == "read-only") {
      o.cryptsetup_args.push_back("--readonly");
    } else if (key == "keyfile-offset") {
      numeric("--keyfile-offset");
    } else if (key == "keyfile-size") {
      numeric("--keyfile-size");
    } else if (key == "key-slot" || key == "keyslot") {
      numeric("--key-slot");
    } else if (key == "tries") {
      unsigned n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size())
        o.ignored.push_back(opt + ": not a number");
      else  // systemd's 0, "for ever", would never reach the rescue shell: bounded
        o.tries = n == 0 ? 3 : static_cast<int>(std::min(n, 100u));
    } else if (key == "no-read-workqueue") {
      o.cryptsetup_args.push_back("--perf-no_read_workqueue");
    } else if (key == "no-write-workqueue") {
      o.cryptsetup_args.push_back("--perf-no_write_workqueue");
    } else if (key == "same-cpu-crypt") {
      o.cryptsetup_args.push_back("--perf-same_cpu_crypt");
    } else if (key == "submit-from-crypt-cpus") {
      o.cryptsetup_args.push_back("--perf-submit_from_crypt_cpus");
    } else if (key == "plain" || key == "tcrypt" || key == "bitlk" || key == "swap" ||
               key == "tmp" || key == "tcrypt-veracrypt") {
      o.not_luks = key == "swap" || key == "tmp"
                       ? key + " (formatted with a random key at every boot)"
                       : key + " (not a LUKS device)";
    } else if (key == "header") {
      o.detached = value;
    } else if (starts_with(key, "tpm2-") || starts_with(key, "fido2-") ||
               starts_with(key, "pkcs11-") || key == "token-timeout" ||
               key == "try-empty-password") {
      o.ignored.push_back(opt + ": zinitrd cannot unlock with tokens; it asks for a passphrase");
    } else if (key == "keyscript") {
      o.ignored.push_back(opt + ": zinitrd runs no key scripts; it asks for a passphrase");
    } else {
      o.ignored.push_back(opt + ": not an option zinitrd knows");
    }
  }
  return o;
}

std::string crypttab_source_uuid(std::string_view source) {
  for (std::string_view p : {"UUID=", "/dev/disk/by-uuid/"})
    if (starts_with(source, p) && source.size() > p.size()) return lower(source.substr(p.size()));
  return {};
}

std::string crypttab_source_label(std::string_view source) {
  for (std::string_view p : {"LABEL=", "/dev/disk/by-label/"})
    if (starts_with(source, p) && source.size() > p.size())
      return std::string(source.substr(p.size()));
  return {};
}

bool crypttab_source_findable(std::string_view source) {
  if (!crypttab_source_uuid(source).empty() || !crypttab_source_label(source).empty()) return true;
  return starts_with(source, "/dev/") && source.size() > 5 &&
         source.find('/', 5) == std::string_view::npos;
}

}  // namespace zinitrd
