// net_setup.cc: interface configuration with ioctls (see net_setup.h).
#include "net_setup.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "fd.h"
#include "ip_param.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

Result<Fd> inet_socket() {
  Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error::sys("socket", "AF_INET", errno);
  return fd;
}

struct ifreq request_for(const std::string& iface) {
  struct ifreq r {};
  std::strncpy(r.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  return r;
}

void set_addr(struct sockaddr* sa, uint32_t addr) {
  auto* in = reinterpret_cast<struct sockaddr_in*>(sa);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = htonl(addr);
}

Status set_flags(int fd, const std::string& iface, bool up) {
  struct ifreq r = request_for(iface);
  if (::ioctl(fd, SIOCGIFFLAGS, &r) != 0) return Error::sys("SIOCGIFFLAGS", iface, errno);
  if (up)
    r.ifr_flags = static_cast<short>(r.ifr_flags | IFF_UP);
  else
    r.ifr_flags = static_cast<short>(r.ifr_flags & ~IFF_UP);
  if (::ioctl(fd, SIOCSIFFLAGS, &r) != 0) return Error::sys("SIOCSIFFLAGS", iface, errno);
  return Ok{};
}

}  // namespace

Status link_up(const std::string& iface) {
  auto fd = inet_socket();
  if (!fd) return fd.error();
  return set_flags(fd->get(), iface, true);
}

Status configure_interface(const std::string& iface, uint32_t addr, uint32_t mask,
                           uint32_t gateway) {
  auto fd = inet_socket();
  if (!fd) return fd.error();
  struct ifreq r = request_for(iface);
  set_addr(&r.ifr_addr, addr);
  if (::ioctl(fd->get(), SIOCSIFADDR, &r) != 0) return Error::sys("SIOCSIFADDR", iface, errno);
  r = request_for(iface);
  set_addr(&r.ifr_netmask, mask);
  if (::ioctl(fd->get(), SIOCSIFNETMASK, &r) != 0)
    return Error::sys("SIOCSIFNETMASK", iface, errno);
  if (auto st = set_flags(fd->get(), iface, true); !st) return st;
  if (gateway != 0) {
    struct rtentry rt {};
    set_addr(&rt.rt_dst, 0);
    set_addr(&rt.rt_genmask, 0);
    set_addr(&rt.rt_gateway, gateway);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    std::string dev = iface;
    rt.rt_dev = dev.data();
    if (::ioctl(fd->get(), SIOCADDRT, &rt) != 0 && errno != EEXIST)
      return Error::sys("SIOCADDRT", "default via " + format_ipv4(gateway), errno);
  }
  return Ok{};
}

Status deconfigure_interface(const std::string& iface) {
  auto fd = inet_socket();
  if (!fd) return fd.error();
  // Address 0.0.0.0 deletes the interface's address, and the routes through it with it.
  struct ifreq r = request_for(iface);
  set_addr(&r.ifr_addr, 0);
  if (::ioctl(fd->get(), SIOCSIFADDR, &r) != 0 && errno != EADDRNOTAVAIL)
    return Error::sys("SIOCSIFADDR 0.0.0.0", iface, errno);
  return set_flags(fd->get(), iface, false);
}

std::vector<std::string> ethernet_interfaces() {
  std::vector<std::string> out;
  DIR* d = ::opendir("/sys/class/net");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name == "lo") continue;
    auto type = read_file("/sys/class/net/" + name + "/type", 64);
    if (type && trim(*type) == "1") out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

int udhcpc_script(const std::string& action) {
  auto env = [](const char* k) {
    const char* v = std::getenv(k);
    return std::string(v ? v : "");
  };
  const std::string iface = env("interface");
  if (iface.empty()) {
    fprintf(stderr, "udhcpc.script: no interface in the environment (run by udhcpc only)\n");
    return 1;
  }
  if (action == "deconfig") {
    auto fd = inet_socket();
    if (fd) {
      struct ifreq r = request_for(iface);
      set_addr(&r.ifr_addr, 0);
      (void)::ioctl(fd->get(), SIOCSIFADDR, &r);
    }
    Status st = link_up(iface);  // udhcpc needs the link up to send its DISCOVER
    if (!st) fprintf(stderr, "udhcpc.script: %s\n", st.error().message.c_str());
    return st ? 0 : 1;
  }
  if (action != "bound" && action != "renew") return 0;  // leasefail, nak: udhcpc retries
  uint32_t ip = 0, mask = 0xffffff00u, gw = 0;
  if (!parse_ipv4(env("ip"), ip)) {
    fprintf(stderr, "udhcpc.script: lease without a usable address ('%s')\n", env("ip").c_str());
    return 1;
  }
  if (!env("subnet").empty()) (void)parse_ipv4(env("subnet"), mask);
  std::string router = env("router");
  (void)parse_ipv4(router.substr(0, router.find(' ')), gw);
  Status st = configure_interface(iface, ip, mask, gw);
  // udhcpc's output goes to the boot's ssh log (ssh_unlock.h); this line too.
  if (!st) {
    fprintf(stderr, "zinitrd: %s: DHCP lease %s: %s\n", iface.c_str(), env("ip").c_str(),
            st.error().message.c_str());
    return 1;
  }
  IpConfig c;
  c.mode = IpConfig::Mode::kStatic;
  c.iface = iface;
  c.client = ip;
  c.netmask = mask;
  c.gateway = gw;
  std::string text = describe(c);
  text.replace(text.find("(static)"), 8, "(DHCP lease)");
  fprintf(stderr, "zinitrd: network: %s\n", text.c_str());
  // The boot's log and console hear it too (this is a separate process, run by udhcpc).
  Fd kmsg(::open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (kmsg.valid()) {
    std::string line = "<5>zinitrd: network: " + text + "\n";
    (void)!::write(kmsg.get(), line.data(), line.size());
  }
  return 0;
}

}  // namespace zinitrd::rt
