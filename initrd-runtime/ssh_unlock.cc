// ssh_unlock.cc: the network and dropbear while a secret is awaited (see ssh_unlock.h).
#include "ssh_unlock.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "log.h"
#include "net_setup.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

constexpr int64_t kInterfaceWaitMs = 30'000;  // NIC drivers load through coldplug meanwhile
constexpr int64_t kClientsWaitMs = 3'000;     // for the sessions to print the last word
constexpr int64_t kStopWaitMs = 1'500;

Result<Fd> listen_unlock_socket() {
  (void)make_dirs("/run/zinitrd", 0755);
  ::unlink(kUnlockSocket);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error::sys("socket", "AF_UNIX", errno);
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, kUnlockSocket, sizeof addr.sun_path - 1);
  if (::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0)
    return Error::sys("bind", kUnlockSocket, errno);
  ::chmod(kUnlockSocket, 0600);  // root's only: it takes passphrases
  if (::listen(fd.get(), 8) != 0) return Error::sys("listen", kUnlockSocket, errno);
  return fd;
}

// The interfaces config C applies to, once present (waits for named or first ones).
std::vector<std::string> wait_for_interfaces(const IpConfig& c, int64_t deadline) {
  for (;;) {
    if (!c.iface.empty()) {
      if (path_exists("/sys/class/net/" + c.iface)) return {c.iface};
    } else {
      auto all = ethernet_interfaces();
      if (!all.empty()) {
        if (c.mode == IpConfig::Mode::kStatic) all.resize(1);
        return all;
      }
    }
    if (monotonic_ms() >= deadline) return {};
    sleep_ms(100);
  }
}

// Starts busybox udhcpc on IFACE in this process group; it keeps renewing the lease.
void start_udhcpc(const std::string& busybox, const std::string& iface, const IpConfig& c) {
  std::vector<std::string> argv{busybox, "udhcpc", "-f", "-i", iface, "-s", kUdhcpcScript,
                                "-t",    "5",      "-T", "2",  "-A",  "3"};
  if (!c.hostname.empty()) {
    argv.push_back("-x");
    argv.push_back("hostname:" + c.hostname);
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    char path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    char* env[] = {path, nullptr};
    ::execve(args[0], args.data(), env);
    fprintf(stderr, "zinitrd: cannot run %s: %s\n", args[0], strerror(errno));
    ::_exit(127);
  }
  if (pid < 0)
    log_warning("network: cannot start udhcpc on %s: %s", iface.c_str(), strerror(errno));
}

// The helper: network, then dropbear in its place. Never returns.
[[noreturn]] void run_helper(const std::vector<IpConfig>& network,
                             const std::vector<std::string>& dropbear, bool debug) {
  ::setsid();
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) ::signal(s, SIG_DFL);
  int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null >= 0) ::dup2(null, 0);
  if (!debug) {
    int log = ::open(kSshLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
  }
  const std::string busybox = find_program("busybox");
  const int64_t deadline = monotonic_ms() + kInterfaceWaitMs;
  for (const auto& c : network) {
    auto ifaces = wait_for_interfaces(c, deadline);
    if (ifaces.empty()) {
      log_warning(
          "network: %s: no such interface after %s (is its driver in the image? `ls "
          "/sys/class/net` in the rescue shell)",
          c.iface.empty() ? "no ethernet interface" : c.iface.c_str(),
          format_seconds(kInterfaceWaitMs).c_str());
      continue;
    }
    for (const auto& iface : ifaces) {
      if (c.mode == IpConfig::Mode::kStatic) {
        IpConfig at = c;
        at.iface = iface;
        Status st = configure_interface(iface, c.client, c.netmask, c.gateway);
        if (st)
          log_notice("network: %s", describe(at).c_str());
        else
          log_warning("network: %s: %s", describe(at).c_str(), st.error().message.c_str());
      } else if (busybox.empty()) {
        log_warning("network: ip=dhcp needs busybox (udhcpc), which this image lacks");
      } else {
        log_notice("network: asking for a DHCP lease on %s", iface.c_str());
        start_udhcpc(busybox, iface, c);
      }
    }
  }
  std::vector<char*> args;
  std::vector<std::string> argv = dropbear;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  char path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* env[] = {path, nullptr};
  ::execve(args[0], args.data(), env);
  log_error("ssh: cannot run %s: %s", args[0], strerror(errno));
  ::_exit(127);
}

// "every ethernet interface (DHCP), eth1 10.0.2.50/24 (static)": the networks of ip=, for logs.
std::string describe_all(const std::vector<IpConfig>& network) {
  std::string out;
  for (const auto& c : network) out += (out.empty() ? "" : ", ") + describe(c);
  return out;
}

// True when no process of group PGID is left (zombies of ours are reaped on the way).
bool group_gone(pid_t pgid) {
  int status;
  while (::waitpid(-pgid, &status, WNOHANG) > 0) {
  }
  return ::kill(-pgid, 0) != 0 && errno == ESRCH;
}

}  // namespace

std::vector<std::string> dropbear_argv(const std::string& dropbear, int port, bool shell) {
  // -F foreground, -E log to stderr, -s/-g no password logins, -j/-k no port forwarding,
  // -r the image's host key, -P a pid file under /run (there is no /var/run).
  std::vector<std::string> argv{dropbear,
                                "-F",
                                "-E",
                                "-s",
                                "-g",
                                "-j",
                                "-k",
                                "-p",
                                std::to_string(port),
                                "-r",
                                kSshHostKey,
                                "-P",
                                "/run/zinitrd/dropbear.pid"};
  if (!shell) {
    argv.push_back("-c");
    argv.push_back(kUnlockCommand);
  }
  return argv;
}

void SshUnlock::configure(const BootConfig& config, const BootRequest& request) {
  const bool feature =
      std::find(config.features.begin(), config.features.end(), "ssh") != config.features.end();
  network_ = request.network;
  debug_ = request.debug;
  shell_ = parse_bool_word(config.setting("ssh_shell", "no")).value_or(false);
  std::string port(trim(config.setting("ssh_port", "22")));
  char* end = nullptr;
  long p = strtol(port.c_str(), &end, 10);
  port_ = end && *end == '\0' && p > 0 && p < 65536 ? static_cast<int>(p) : 22;
  enabled_ = false;
  if (feature && network_.empty()) {
    log_info(
        "unlock over SSH: no ip= on the kernel command line, so no network: add ip=dhcp (or "
        "ip=CLIENT::GATEWAY:NETMASK:HOSTNAME:IFACE:none) to answer prompts over SSH");
    return;
  }
  if (!feature) {
    if (!network_.empty())
      log_info(
          "ip= is for unlock over SSH, which this image lacks (build it with "
          "/etc/zinitrd/authorized_keys or --ssh-authorized-keys)");
    return;
  }
  if (find_program("dropbear").empty() || !path_exists(kSshHostKey) ||
      !path_exists(kSshAuthorizedKeys)) {
    log_warning("unlock over SSH: the image lacks dropbear, %s or %s: rebuild it", kSshHostKey,
                kSshAuthorizedKeys);
    return;
  }
  enabled_ = true;
  log_info(
      "unlock over SSH: ready (port %d; %s); the network and dropbear start only if a "
      "passphrase is asked",
      port_, describe_all(network_).c_str());
}

UnlockClients* SshUnlock::open() {
  if (!enabled_) return nullptr;
  if (helper_ > 0) return &clients_;
  auto listener = listen_unlock_socket();
  if (!listener) {
    log_warning("unlock over SSH: %s; prompting on the console only",
                listener.error().message.c_str());
    enabled_ = false;
    return nullptr;
  }
  std::vector<std::string> argv = dropbear_argv(find_program("dropbear"), port_, shell_);
  pid_t pid = ::fork();
  if (pid == 0) run_helper(network_, argv, debug_);
  if (pid < 0) {
    log_warning("unlock over SSH: fork: %s; prompting on the console only", strerror(errno));
    return nullptr;
  }
  ::setpgid(pid, pid);  // also done by the child (setsid): no race on who is first
  helper_ = pid;
  clients_.listen(std::move(*listener));
  log_notice("unlock over SSH: the prompt is also answered by `ssh root@HOST` (port %d; %s)", port_,
             describe_all(network_).c_str());
  return &clients_;
}

void SshUnlock::close(const std::string& text) {
  if (helper_ <= 0) return;
  // The last word first, then time for the sessions to print it and end on their own.
  clients_.finish(text, kClientsWaitMs);
  const pid_t pgid = helper_;
  helper_ = -1;
  sleep_ms(200);
  ::kill(-pgid, SIGTERM);
  const int64_t deadline = monotonic_ms() + kStopWaitMs;
  while (!group_gone(pgid) && monotonic_ms() < deadline) sleep_ms(50);
  if (!group_gone(pgid)) {
    ::kill(-pgid, SIGKILL);
    const int64_t last = monotonic_ms() + kStopWaitMs;
    while (!group_gone(pgid) && monotonic_ms() < last) sleep_ms(20);
  }
  ::unlink(kUnlockSocket);
  std::vector<std::string> down;
  for (const auto& iface : ethernet_interfaces()) {
    Status st = deconfigure_interface(iface);
    if (st)
      down.push_back(iface);
    else
      log_warning("network: %s", st.error().message.c_str());
  }
  log_notice("unlock over SSH: dropbear stopped; network down (%s)",
             down.empty() ? "no interface" : join(down, ", ").c_str());
}

}  // namespace zinitrd::rt
