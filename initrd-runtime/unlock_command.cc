// unlock_command.cc: `init unlock` (see unlock_command.h).
#include "unlock_command.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "fd.h"
#include "secret_prompt.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

void out(std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(1, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

bool send_line(int fd, const std::string& line) {
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Echo off on stdin while a secret is typed; restored by the destructor.
class NoEcho {
 public:
  NoEcho() {
    if (::tcgetattr(0, &saved_) != 0) return;
    struct termios t = saved_;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHOE | ECHOK);
    t.c_lflag |= ICANON;
    active_ = ::tcsetattr(0, TCSAFLUSH, &t) == 0;
  }
  ~NoEcho() {
    if (active_) ::tcsetattr(0, TCSANOW, &saved_);
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  struct termios saved_ {};
  bool active_ = false;
};

}  // namespace

int unlock_command() {
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, kUnlockSocket, sizeof addr.sun_path - 1);
  if (!sock.valid() ||
      ::connect(sock.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    out("zinitrd: the boot is not waiting for a passphrase now (" +
        std::string(std::strerror(errno)) + ")\n");
    return kUnlockNotAsked;
  }
  // SSH_CLIENT is "ADDRESS PORT LOCALPORT": the console says where the answer came from.
  const char* ssh = std::getenv("SSH_CLIENT");
  std::string who = ssh && *ssh ? std::string(ssh).substr(0, std::string(ssh).find(' '))
                                : std::string("a local session");
  if (!send_line(sock.get(), "HELLO " + who + "\n")) return kUnlockNotAsked;
  const bool tty = ::isatty(0);
  std::string in, typed;
  bool prompting = false;
  std::optional<NoEcho> no_echo;
  for (;;) {
    struct pollfd p[2] = {{sock.get(), POLLIN, 0}, {prompting ? 0 : -1, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return kUnlockNotAsked;
    }
    if (p[1].revents) {
      char buf[256];
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n <= 0) {  // the session's input ended: wait for the boot's last word without it
        prompting = false;
        no_echo.reset();
      } else {
        typed.append(buf, static_cast<size_t>(n));
        ::explicit_bzero(buf, sizeof buf);
        size_t nl = typed.find('\n');
        if (nl != std::string::npos) {
          std::string line = "ANSWER " + typed.substr(0, nl);
          if (line.size() > 7 && line.back() == '\r') line.pop_back();
          ::explicit_bzero(typed.data(), typed.size());
          typed.clear();
          prompting = false;
          no_echo.reset();
          out("\n");
          bool sent = send_line(sock.get(), line + "\n");
          ::explicit_bzero(line.data(), line.size());
          if (!sent) return kUnlockNotAsked;
        }
      }
    }
    if (!p[0].revents) continue;
    char buf[1024];
    ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
    if (n <= 0) {
      no_echo.reset();
      out("\nzinitrd: the boot stopped asking (connection closed)\n");
      return kUnlockNotAsked;
    }
    in.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = in.find('\n')) != std::string::npos) {
      std::string line = in.substr(0, nl);
      in.erase(0, nl + 1);
      size_t sp = line.find(' ');
      std::string kind = line.substr(0, sp);
      std::string text = sp == std::string::npos ? std::string() : line.substr(sp + 1);
      if (kind == "PROMPT") {
        if (!tty && !prompting)
          out("zinitrd: no terminal (ssh -t gives one): reading the answer from standard input\n");
        out(text);
        typed.clear();
        prompting = true;
        if (tty && !no_echo) no_echo.emplace();
      } else if (kind == "SAY") {
        out((prompting ? "\n" : "") + text + "\n");
      } else if (kind == "TAKEN" || kind == "DONE") {
        no_echo.reset();
        out((prompting ? "\nzinitrd: " : "zinitrd: ") + text + "\n");
        return kind == "DONE" ? kUnlockDone : kUnlockTaken;
      }
    }
  }
}

}  // namespace zinitrd::rt
