// ip_param.h: the kernel's `ip=` parameter, as the network of unlock over SSH reads it.
//
// Forms (Documentation/admin-guide/nfs/nfsroot.rst, and dracut's IFACE:dhcp):
//   ip=dhcp | ip=on | ip=any | ip=both | ip=bootp       DHCP on every ethernet interface
//   ip=IFACE:dhcp                                       DHCP on IFACE only (dracut)
//   ip=CLIENT:SERVER:GW:MASK:HOST:IFACE:AUTOCONF[:DNS0[:DNS1]]
//       AUTOCONF none/off (or empty) with CLIENT: a static address; dhcp/on/any: DHCP on IFACE
//   ip=off | ip=none                                    no network
// SERVER (an NFS server) is ignored; an empty MASK is derived from CLIENT's class, as the
// kernel does; an empty IFACE means the first ethernet interface that appears. Pure code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace zinitrd::rt {

/// One interface's configuration from one ip= value.
struct IpConfig {
  enum class Mode { kOff, kDhcp, kStatic };
  Mode mode = Mode::kOff;
  std::string iface;     ///< "" = any ethernet interface (DHCP: every one; static: the first)
  uint32_t client = 0;   ///< kStatic: the address, host byte order
  uint32_t netmask = 0;  ///< kStatic: the mask, host byte order
  uint32_t gateway = 0;  ///< kStatic: the default route's gateway, 0 for none
  std::string hostname;  ///< HOST, or "" (sent to the DHCP server)

  bool operator==(const IpConfig&) const = default;
};

/// Parses one ip= VALUE; errors say what is wrong and what is accepted.
Result<IpConfig> parse_ip_param(std::string_view value);

/// Parses a dotted quad ("10.0.2.15") into host byte order; false when malformed.
bool parse_ipv4(std::string_view text, uint32_t& out);
/// "10.0.2.15" for ADDR in host byte order.
std::string format_ipv4(uint32_t addr);
/// The prefix length of MASK (24 for 255.255.255.0), or -1 when its ones are not contiguous.
int mask_prefix(uint32_t mask);
/// One line for the log: "eth0 10.0.2.50/24 via 10.0.2.2 (static)", "every interface (DHCP)".
std::string describe(const IpConfig& config);

}  // namespace zinitrd::rt
