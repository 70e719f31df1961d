// check_ssh.h: `zinitrd check`'s item for unlock over SSH (ssh_server.h): when the feature is on,
// are there keys to log in with, a host key clients already trust, and an image that carries it?
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "check_items.h"
#include "root_fs.h"

namespace zinitrd::gen {

/// What is known about unlock over SSH on a system.
struct SshFacts {
  std::string enabled_by;  ///< why the feature is on ("" when off): a file, a configuration line
  std::string keys_path;   ///< authorized_keys in the root
  std::optional<std::string> keys;    ///< its text, null when missing
  std::string host_key_path;          ///< the host key in the root
  bool host_key = false;              ///< it exists
  std::optional<bool> image_has_ssh;  ///< the image carries dropbear and the keys (null: no image)
};

/// Gathers the facts inside ROOT: the configuration files' ssh options, the default paths, and
/// IMAGE_MEMBERS (null when the image could not be read).
SshFacts gather_ssh(const RootFs& root, const std::vector<std::string>* image_members);

/// The item; nullopt when unlock over SSH is off (nothing to say).
std::optional<CheckItem> check_ssh(const SshFacts& facts);

}  // namespace zinitrd::gen
