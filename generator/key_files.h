// key_files.h: the key files of encrypted roots, embedded so that they unlock without a prompt.
//
// ZFSBootMenu's recommended setup: the root's encryption root has keylocation=file:///PATH and
// the initramfs carries PATH. Key files come from two places:
//   - the system itself: when the root being built for ("/" or --root DIR) is a mounted ZFS
//     dataset on this host, the encryption roots of that dataset and its descendants are read
//     with `zfs list`/`zfs get`, and each keylocation=file:// file is embedded;
//   - configuration: `keyfile = SRC[:DST]` in /etc/zinitrd.conf (or --keyfile), for a pool not
//     imported here (an installer, a test); DST defaults to SRC.
// Every key file is mode 0600 in the image, and the image file itself is mode 0600 (output_file).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "process.h"
#include "result.h"

namespace zinitrd::gen {

/// One key file to embed.
struct KeyFile {
  std::string source;   ///< in-root path to read (never the host's: see build.cc)
  std::string dest;     ///< path inside the image: keylocation's PATH
  std::string encroot;  ///< the encryption root it unlocks, "" when named by configuration
  bool operator==(const KeyFile&) const = default;
};

/// The distinct encryption roots of `zfs list -H -o encryptionroot ...` OUTPUT ("-" skipped)
/// (pure).
std::vector<std::string> parse_encryption_roots(std::string_view output);

/// The keylocation=file:// files of `zfs get -H -o name,value keylocation ...` OUTPUT (pure).
std::vector<KeyFile> parse_key_locations(std::string_view output);

/// "SRC[:DST]" of --keyfile as a KeyFile (pure).
KeyFile parse_keyfile_spec(std::string_view spec);

/// The key files of the encryption roots under DATASET, asked of zfs through RUN. Errors say
/// which command failed.
Result<std::vector<KeyFile>> dataset_key_files(const std::string& dataset,
                                               const CommandRunner& run);

}  // namespace zinitrd::gen
