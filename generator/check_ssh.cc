// check_ssh.cc: the unlock-over-SSH item of `zinitrd check` (see check_ssh.h).
#include "check_ssh.h"

#include <algorithm>

#include "ssh_server.h"
#include "text.h"

namespace zinitrd::gen {

SshFacts gather_ssh(const RootFs& root, const std::vector<std::string>* image_members) {
  SshFacts f;
  f.keys_path = kDefaultAuthorizedKeys;
  f.host_key_path = kDefaultSshHostKey;
  if (root.exists(kDefaultAuthorizedKeys)) f.enabled_by = kDefaultAuthorizedKeys;
  // The configuration files take the build's long options (cli.cc): the ones of this feature.
  std::vector<std::string> confs;
  if (root.exists("/etc/zinitrd.conf")) confs.push_back("/etc/zinitrd.conf");
  for (const auto& c : root.glob("/etc/zinitrd.conf.d/*.conf")) confs.push_back(c);
  for (const auto& conf : confs) {
    auto text = root.read_file(conf);
    if (!text) continue;
    for (const auto& line : split_all(*text, '\n')) {
      size_t eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string key(trim(std::string_view(line).substr(0, eq)));
      std::string value(trim(std::string_view(line).substr(eq + 1)));
      if (key == "ssh-authorized-keys") {
        f.keys_path = value;
        f.enabled_by = conf + ": " + key + " = " + value;
      } else if (key == "ssh-host-key") {
        f.host_key_path = value;
      } else if (key == "add") {
        auto words = split_words(value);
        if (std::find(words.begin(), words.end(), "ssh") != words.end() && f.enabled_by.empty())
          f.enabled_by = conf + ": add = ssh";
      }
    }
  }
  auto keys = root.read_file(f.keys_path);
  if (keys) f.keys = std::move(*keys);
  f.host_key = root.exists(f.host_key_path);
  if (image_members) {
    auto has = [&](std::string_view p) {
      return std::find(image_members->begin(), image_members->end(), p) != image_members->end();
    };
    f.image_has_ssh = has("/root/.ssh/authorized_keys") && has("/etc/zinitrd/ssh_host_ed25519_key");
  }
  return f;
}

std::optional<CheckItem> check_ssh(const SshFacts& f) {
  if (f.enabled_by.empty()) return std::nullopt;
  CheckItem item{"ssh-unlock", CheckState::kOk, "", ""};
  if (!f.keys || count_authorized_keys(*f.keys) == 0) {
    item.state = CheckState::kWarn;
    item.detail = "unlock over SSH is on (" + f.enabled_by + ") but " + f.keys_path +
                  (f.keys ? " holds no key" : " is missing") + ": nobody could log in to unlock";
    item.fix = "put the public keys allowed to unlock in " + f.keys_path +
               " (one per line), then `zinitrd build`";
    return item;
  }
  if (!f.host_key) {
    item.state = CheckState::kWarn;
    item.detail = "unlock over SSH is on, but there is no host key at " + f.host_key_path +
                  " yet: the next build makes one, and clients see a new host key";
    item.fix =
        "`zinitrd build`, then give clients " + f.host_key_path + ".pub for their known_hosts";
    return item;
  }
  if (f.image_has_ssh && !*f.image_has_ssh) {
    item.state = CheckState::kWarn;
    item.detail = "unlock over SSH is on, but the image carries no SSH server or keys";
    item.fix = "rebuild the image: `zinitrd build`";
    return item;
  }
  item.detail = "unlock over SSH: " + std::to_string(count_authorized_keys(*f.keys)) +
                " key(s) in " + f.keys_path + ", host key " + f.host_key_path +
                " (boot with ip=dhcp or a static ip= to use it)";
  return item;
}

}  // namespace zinitrd::gen
