// net_setup.h: bringing interfaces up and down for unlock over SSH, with the kernel's classic
// ioctls (SIOCSIFADDR, SIOCSIFNETMASK, SIOCSIFFLAGS, SIOCADDRT): no `ip` program needed.
//
// Static addresses (ip=CLIENT::GW:MASK:...) are set here directly; DHCP is busybox's udhcpc,
// whose script is this program again (`/usr/lib/zinitrd/udhcpc.script`, a link to /init): it
// applies the lease with the same calls. Before switch_root every interface that was touched is
// flushed (address 0.0.0.0 removes it) and set down, so the real system starts from scratch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace zinitrd::rt {

/// In-image path of udhcpc's script: a link to the runtime, which acts on its name.
inline constexpr const char* kUdhcpcScript = "/usr/lib/zinitrd/udhcpc.script";

/// Sets interface IFACE up (IFF_UP).
Status link_up(const std::string& iface);
/// Gives IFACE the address ADDR/MASK (host byte order) and sets it up; with GATEWAY (not 0), a
/// default route through it.
Status configure_interface(const std::string& iface, uint32_t addr, uint32_t mask,
                           uint32_t gateway);
/// Removes IFACE's IPv4 address (and so its routes) and sets it down.
Status deconfigure_interface(const std::string& iface);
/// The ethernet interfaces present now (/sys/class/net/*/type is 1, not loopback), sorted.
std::vector<std::string> ethernet_interfaces();

/// The udhcpc script: ACTION is "deconfig", "bound", "renew", "leasefail" or "nak"; the lease
/// comes in the environment (interface, ip, subnet, router). Returns the exit status.
int udhcpc_script(const std::string& action);

}  // namespace zinitrd::rt
