// import_listing.h: what `zpool import` (without a pool argument) says it can import, and which
// of those pools is the root pool.
//
// The listing is the only udev-free way to see a pool before importing it: its numeric id (the
// pool GUID), its state (a mirror member not probed yet makes it DEGRADED), whether it was last
// used by another system (then it needs -f), and its devices. Several pools may carry one name
// (an old disk from another install): `zpool import NAME` then refuses with "more than one
// matching pool", and the GUID picks one. The layout parsed here is OpenZFS's show_import()
// (cmd/zpool/zpool_main.c), the same in 2.1 and 2.3:
//
//      pool: rpool
//        id: 7298839655711444730
//     state: DEGRADED
//    status: The pool was last accessed by another system.
//    action: ...
//    config:
//
//          rpool       DEGRADED
//            mirror-0  DEGRADED
//              vda1    ONLINE
//              vdb1    UNAVAIL
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace zinitrd::rt {

/// One pool of a `zpool import` listing.
struct PoolCandidate {
  std::string name;
  std::string guid;    ///< the decimal "id:"
  std::string state;   ///< ONLINE, DEGRADED, UNAVAIL, FAULTED...
  std::string status;  ///< the status text, lines joined by a space; "" when there is none
  std::vector<std::string> devices;  ///< leaf devices as listed ("vda1"), any state
  std::vector<std::string> missing;  ///< leaf devices not ONLINE: "vdb1 (UNAVAIL)"

  /// True when zpool says the pool was last used by another system (-f needed) (pure).
  bool needs_force() const;
  /// True when the pool is imported by another host right now (multihost) (pure).
  bool active_elsewhere() const;
  /// "GUID 123 (ONLINE; devices vda1)" plus, when it needs -f, "last used by another system".
  std::string describe() const;
  bool operator==(const PoolCandidate&) const = default;
};

/// Parses a `zpool import` listing; unparsable parts are skipped (pure).
std::vector<PoolCandidate> parse_import_listing(std::string_view output);

/// True when WORD is a pool GUID as a command line may give it (a pool name cannot start with a
/// digit, so a run of digits is never a name) (pure).
bool looks_like_guid(std::string_view word);

/// Which of the listed pools is the root pool.
struct PoolChoice {
  enum Kind {
    kNone,       ///< no pool with that name or GUID is listed
    kOne,        ///< `chosen` is the one
    kAmbiguous,  ///< several namesakes and no rule picks one: `candidates` lists them
  } kind = kNone;
  PoolCandidate chosen;
  std::vector<PoolCandidate> candidates;  ///< every pool matching the name (or GUID)
};

/// Picks the root pool named WANTED (a name or a GUID) among LISTED: a GUID matches exactly one;
/// among namesakes the single one this system can import without -f (its hostid, or exported);
/// a single pool needing -f is still chosen (the import then explains it, or forces it under
/// zfs_force); otherwise it is ambiguous: never guess between pools another system may own (pure).
PoolChoice choose_pool(const std::vector<PoolCandidate>& listed, const std::string& wanted);

}  // namespace zinitrd::rt
