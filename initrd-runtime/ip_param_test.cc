// ip_param_test.cc: every ip= form unlock over SSH reads, and the malformed ones it refuses.
#include "ip_param.h"

#include <doctest/doctest.h>

#include "cmdline.h"

using namespace zinitrd::rt;

namespace {
uint32_t ip(const char* text) {
  uint32_t v = 0;
  REQUIRE(parse_ipv4(text, v));
  return v;
}
}  // namespace

TEST_CASE("ip=dhcp and its synonyms ask for DHCP on every ethernet interface") {
  for (const char* v : {"dhcp", "on", "any", "both", "bootp"}) {
    auto c = parse_ip_param(v);
    REQUIRE(c);
    CHECK(c->mode == IpConfig::Mode::kDhcp);
    CHECK(c->iface.empty());
  }
  auto c = parse_ip_param("eth1:dhcp");  // dracut's form
  REQUIRE(c);
  CHECK(c->mode == IpConfig::Mode::kDhcp);
  CHECK(c->iface == "eth1");
  c = parse_ip_param(":::::enp1s0:dhcp");  // the kernel's form with autoconf=dhcp
  REQUIRE(c);
  CHECK(c->mode == IpConfig::Mode::kDhcp);
  CHECK(c->iface == "enp1s0");
}

TEST_CASE("ip=off and ip=none mean no network") {
  for (const char* v : {"off", "none", "::::::none", ":::::eth0:off"}) {
    auto c = parse_ip_param(v);
    REQUIRE(c);
    CHECK(c->mode == IpConfig::Mode::kOff);
  }
}

TEST_CASE("the static form gives address, mask, gateway, host name and interface") {
  auto c = parse_ip_param("10.0.2.50::10.0.2.2:255.255.255.0:zinitrd:eth0:none");
  REQUIRE(c);
  CHECK(c->mode == IpConfig::Mode::kStatic);
  CHECK(c->client == ip("10.0.2.50"));
  CHECK(c->gateway == ip("10.0.2.2"));
  CHECK(c->netmask == ip("255.255.255.0"));
  CHECK(c->hostname == "zinitrd");
  CHECK(c->iface == "eth0");
  CHECK(describe(*c) == "eth0 10.0.2.50/24 via 10.0.2.2 (static)");
  // Trailing DNS fields are accepted; SERVER is ignored; an empty autoconf is static.
  c = parse_ip_param("192.168.1.9:192.168.1.1:192.168.1.1:255.255.255.0::eno1::1.1.1.1:8.8.8.8");
  REQUIRE(c);
  CHECK(c->mode == IpConfig::Mode::kStatic);
  CHECK(c->iface == "eno1");
  // No gateway: no default route; no interface: the first ethernet interface.
  c = parse_ip_param("10.1.2.3:::255.255.0.0::");
  REQUIRE(c);
  CHECK(c->gateway == 0);
  CHECK(c->iface.empty());
  CHECK(describe(*c) == "the first ethernet interface 10.1.2.3/16 (static)");
}

TEST_CASE("an empty netmask is the address's class, as the kernel derives it") {
  CHECK(parse_ip_param("10.0.0.5::::::none")->netmask == ip("255.0.0.0"));
  CHECK(parse_ip_param("172.16.0.5::::::none")->netmask == ip("255.255.0.0"));
  CHECK(parse_ip_param("192.168.0.5::::::none")->netmask == ip("255.255.255.0"));
}

TEST_CASE("malformed ip= values are refused with what is wrong") {
  struct Bad {
    const char* value;
    const char* says;
  } bad[] = {
      {"", "no value"},
      {"dhcpp", "not a form"},
      {"10.0.2.300::10.0.2.2:255.255.255.0::eth0:none", "not an IPv4 address"},
      {"10.0.2.5::10.0.2.2:255.0.255.0::eth0:none", "not a netmask"},
      {"10.0.2.5::10.9.9.9:255.255.255.0::eth0:none", "not on the network"},
      {"10.0.2.5::10.0.2.2:255.255.255.0::eth0:sometimes", "autoconfiguration"},
      {"::10.0.2.2:255.255.255.0::eth0:", "needs the client address"},
      {"10.0.2.5:::::a/b:none", "not an interface name"},
      {"10.0.2.5:::::averyveryverylongname:none", "not an interface name"},
      {"eth0/x:dhcp", "not an interface name"},
  };
  for (const auto& b : bad) {
    std::string value = b.value;
    CAPTURE(value);
    auto c = parse_ip_param(b.value);
    REQUIRE_FALSE(c);
    std::string message = c.error().message;
    CAPTURE(message);
    CHECK(message.find(b.says) != std::string::npos);
    CHECK(c.error().message.find("ip=dhcp") != std::string::npos);  // says what works
  }
}

TEST_CASE("dotted quads and masks") {
  uint32_t v;
  CHECK_FALSE(parse_ipv4("1.2.3", v));
  CHECK_FALSE(parse_ipv4("1.2.3.4.5", v));
  CHECK_FALSE(parse_ipv4("1.2.3.0004", v));
  CHECK_FALSE(parse_ipv4("1..3.4", v));
  CHECK_FALSE(parse_ipv4(" 1.2.3.4", v));
  CHECK(format_ipv4(ip("10.0.2.15")) == "10.0.2.15");
  CHECK(mask_prefix(ip("255.255.255.0")) == 24);
  CHECK(mask_prefix(ip("255.255.255.255")) == 32);
  CHECK(mask_prefix(0) == 0);
  CHECK(mask_prefix(ip("255.0.255.0")) == -1);
}

TEST_CASE("ip= on the kernel command line: kept in order, bad ones explained, ip=off clears") {
  auto r = parse_cmdline("root=zfs:rpool/ROOT/x ip=dhcp");
  REQUIRE(r.network.size() == 1);
  CHECK(r.network[0].mode == IpConfig::Mode::kDhcp);
  r = parse_cmdline("ip=10.0.2.50::10.0.2.2:255.255.255.0:h:eth0:none ip=eth1:dhcp");
  REQUIRE(r.network.size() == 2);
  CHECK(r.network[0].mode == IpConfig::Mode::kStatic);
  CHECK(r.network[1].iface == "eth1");
  r = parse_cmdline("ip=dhcp ip=off");
  CHECK(r.network.empty());
  r = parse_cmdline("ip=10.0.2.999::::::none");
  CHECK(r.network.empty());
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].find("ignored") != std::string::npos);
}
