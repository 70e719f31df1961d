// check_parsers.h: reading what the tools `zinitrd check` asks print: `dkms status`, `zdb -C`,
// /etc/hostid's bytes, version strings and the kernel command line. Pure functions, fed fixture
// text by the unit tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zinitrd::gen {

/// The state `dkms status -k KVER` gives MODULE ("installed", "built", "added", with any
/// "(WARNING! ...)" suffix kept), or "" when it does not list MODULE. Accepts the dkms 3
/// (`zfs/2.1.11, KVER, x86_64: installed`) and dkms 2 (`zfs, 2.1.11, KVER, x86_64: installed`)
/// formats; a line for another kernel is ignored.
std::string parse_dkms_state(std::string_view status_output, std::string_view module,
                             std::string_view kver);
/// The hostid stored in the 4 bytes of /etc/hostid (native byte order, as glibc's gethostid()).
std::optional<uint32_t> parse_hostid_file(std::string_view bytes);
/// Pool names at the top level of `zdb -C` output (lines "NAME:" at column 0).
std::vector<std::string> parse_zdb_pools(std::string_view zdb_output);
/// The `hostid:` of POOL in `zdb -C` output, if listed.
std::optional<uint32_t> parse_zdb_hostid(std::string_view zdb_output, std::string_view pool);
/// "2.1.11" from "zfs-2.1.11-1", "2.1.11-1+deb12u1", "zfs-kmod-2.2.0-rc1": the upstream version.
std::string upstream_version(std::string_view version);
/// True when the kernel command line asks for the pool's `bootfs` (root=zfs:AUTO, root=zfs,
/// root=zfs:, zfs=auto, zfs=bootfs: the forms of the README's table).
bool cmdline_wants_bootfs(std::string_view cmdline);
/// The first line of TEXT, trimmed.
std::string first_line(std::string_view text);

}  // namespace zinitrd::gen
