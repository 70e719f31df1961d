// ip_param.cc: parsing ip= (see ip_param.h).
#include "ip_param.h"

#include "util.h"

namespace zinitrd::rt {
namespace {

bool is_dhcp_word(std::string_view w) {
  return w == "dhcp" || w == "on" || w == "any" || w == "both" || w == "bootp" || w == "rarp" ||
         w == "dhcp6" || w == "auto6";
}

bool is_off_word(std::string_view w) { return w == "off" || w == "none"; }

// The netmask of ADDR's class, as the kernel derives one when MASK is empty.
uint32_t classful_mask(uint32_t addr) {
  if ((addr >> 31) == 0) return 0xff000000u;     // class A
  if ((addr >> 30) == 0b10) return 0xffff0000u;  // class B
  return 0xffffff00u;                            // class C (and anything above)
}

bool valid_iface(std::string_view name) {
  if (name.empty() || name.size() > 15) return false;
  for (char c : name)
    if (c == '/' || c == ':' || c == ' ' || c == '\t' || c < 0x21 || c > 0x7e) return false;
  return true;
}

}  // namespace

bool parse_ipv4(std::string_view text, uint32_t& out) {
  uint32_t addr = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    if (i >= text.size() || text[i] < '0' || text[i] > '9') return false;
    uint32_t v = 0;
    size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      v = v * 10 + static_cast<uint32_t>(text[i] - '0');
      if (++digits > 3 || v > 255) return false;
      ++i;
    }
    addr = (addr << 8) | v;
    if (++parts < 4) {
      if (i >= text.size() || text[i] != '.') return false;
      ++i;
    }
  }
  if (i != text.size()) return false;
  out = addr;
  return true;
}

std::string format_ipv4(uint32_t addr) {
  return std::to_string(addr >> 24) + "." + std::to_string((addr >> 16) & 0xff) + "." +
         std::to_string((addr >> 8) & 0xff) + "." + std::to_string(addr & 0xff);
}

int mask_prefix(uint32_t mask) {
  int n = 0;
  while (n < 32 && (mask & (0x80000000u >> n))) ++n;
  if (n < 32 && (mask << n) != 0) return -1;
  return n;
}

std::string describe(const IpConfig& c) {
  std::string where = c.iface.empty() ? std::string("the first ethernet interface") : c.iface;
  switch (c.mode) {
    case IpConfig::Mode::kOff:
      return "no network";
    case IpConfig::Mode::kDhcp:
      return (c.iface.empty() ? std::string("every ethernet interface") : c.iface) + " (DHCP)";
    case IpConfig::Mode::kStatic:
      return where + " " + format_ipv4(c.client) + "/" + std::to_string(mask_prefix(c.netmask)) +
             (c.gateway ? " via " + format_ipv4(c.gateway) : std::string()) + " (static)";
  }
  return "?";
}

Result<IpConfig> parse_ip_param(std::string_view value) {
  IpConfig c;
  const std::string forms =
      "use ip=dhcp, ip=IFACE:dhcp or ip=CLIENT::GATEWAY:NETMASK:HOSTNAME:IFACE:none";
  auto fail = [&](const std::string& why) {
    return Error::msg("ip=" + std::string(value) + ": " + why + "; " + forms);
  };
  if (value.empty()) return fail("no value");
  if (is_off_word(value)) return c;
  if (is_dhcp_word(value)) {
    c.mode = IpConfig::Mode::kDhcp;
    return c;
  }
  std::vector<std::string> f = split_all(value, ':');
  if (f.size() == 2 && is_dhcp_word(f[1])) {  // dracut's ip=eth0:dhcp
    if (!valid_iface(f[0])) return fail("'" + f[0] + "' is not an interface name");
    c.mode = IpConfig::Mode::kDhcp;
    c.iface = f[0];
    return c;
  }
  if (f.size() < 2) return fail("not a form zinitrd knows");
  f.resize(std::max<size_t>(f.size(), 7));
  const std::string &client = f[0], &gateway = f[2], &mask = f[3], &host = f[4], &iface = f[5],
                    &autoconf = f[6];
  if (!iface.empty() && !valid_iface(iface))
    return fail("'" + iface + "' is not an interface name");
  c.iface = iface;
  c.hostname = host;
  if (is_dhcp_word(autoconf)) {
    c.mode = IpConfig::Mode::kDhcp;
    return c;
  }
  if (!autoconf.empty() && !is_off_word(autoconf))
    return fail("autoconfiguration '" + autoconf + "' is not dhcp, on, any, none or off");
  if (client.empty()) {
    if (is_off_word(autoconf)) return IpConfig{};  // nothing to configure: as ip=off
    return fail("a static configuration needs the client address (the first field)");
  }
  if (!parse_ipv4(client, c.client)) return fail("'" + client + "' is not an IPv4 address");
  if (mask.empty()) {
    c.netmask = classful_mask(c.client);
  } else if (!parse_ipv4(mask, c.netmask) || mask_prefix(c.netmask) <= 0) {
    return fail("'" + mask + "' is not a netmask (such as 255.255.255.0)");
  }
  if (!gateway.empty() && !parse_ipv4(gateway, c.gateway))
    return fail("'" + gateway + "' is not an IPv4 address");
  if (c.gateway && (c.gateway & c.netmask) != (c.client & c.netmask))
    return fail("the gateway " + gateway + " is not on the network of " + client + "/" +
                std::to_string(mask_prefix(c.netmask)));
  c.mode = IpConfig::Mode::kStatic;
  return c;
}

}  // namespace zinitrd::rt
