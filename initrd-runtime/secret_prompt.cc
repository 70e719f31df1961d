// secret_prompt.cc: one prompt on the consoles and the unlock socket (see secret_prompt.h).
#include "secret_prompt.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util.h"

namespace zinitrd::rt {
namespace {

constexpr size_t kMaxLine = 4096;  // zfs takes at most 512 bytes of passphrase

void wipe(std::string& s) {
  if (!s.empty()) ::explicit_bzero(s.data(), s.size());
  s.clear();
}

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// Takes the first line out of BUF into LINE (without "\n" or "\r\n"); false when there is none.
bool take_line(std::string& buf, std::string& line) {
  size_t nl = buf.find('\n');
  if (nl == std::string::npos) return false;
  line.assign(buf, 0, nl);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  ::explicit_bzero(buf.data(), nl + 1);
  buf.erase(0, nl + 1);
  return true;
}

std::function<UnlockClients*()> g_open_remote;
UnlockClients* g_remote = nullptr;

}  // namespace

UnlockClients::~UnlockClients() {
  for (auto& c : clients_) wipe(c.in);
}

void UnlockClients::listen(Fd listener) {
  listener_ = std::move(listener);
  // Non-blocking: accept() after an answer takes the pending clients only, never waits.
  int flags = ::fcntl(listener_.get(), F_GETFL);
  if (flags >= 0) ::fcntl(listener_.get(), F_SETFL, flags | O_NONBLOCK);
}

bool UnlockClients::send(const Client& c, std::string_view kind, std::string_view text) {
  std::string msg;
  for (const auto& line : split_all(text, '\n')) {
    msg.append(kind);
    msg += ' ';
    msg += line;
    msg += '\n';
  }
  std::string_view rest = msg;
  while (!rest.empty()) {
    ssize_t n = ::send(c.fd.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void UnlockClients::say(std::string_view text) {
  for (size_t i = 0; i < clients_.size();) {
    if (send(clients_[i], "SAY", text)) {
      ++i;
    } else {
      wipe(clients_[i].in);
      clients_.erase(clients_.begin() + static_cast<long>(i));
    }
  }
}

void UnlockClients::finish(std::string_view text, int64_t wait_ms) {
  listener_.reset();
  std::vector<Client> waiting;
  for (auto& c : clients_) {
    wipe(c.in);
    if (send(c, "DONE", text)) waiting.push_back(std::move(c));
  }
  clients_.clear();
  const int64_t deadline = monotonic_ms() + wait_ms;
  while (!waiting.empty()) {
    const int64_t left = deadline - monotonic_ms();
    if (left <= 0) break;
    std::vector<struct pollfd> pfds;
    for (auto& c : waiting) pfds.push_back({c.fd.get(), POLLIN, 0});
    if (::poll(pfds.data(), pfds.size(), static_cast<int>(left)) <= 0) continue;
    for (size_t i = pfds.size(); i-- > 0;) {
      if (pfds[i].revents == 0) continue;
      char buf[256];
      ssize_t n = ::recv(waiting[i].fd.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN)))
        waiting.erase(waiting.begin() + static_cast<long>(i));  // hung up
    }
  }
}

void UnlockClients::accept_one(const std::string& prompt) {
  int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  Client c;
  c.fd = Fd(fd);
  if (!prompt.empty() && !send(c, "PROMPT", prompt)) return;
  clients_.push_back(std::move(c));
}

std::optional<SecretAnswer> ask_secret(std::vector<PromptTty>& ttys, UnlockClients* clients,
                                       const std::string& prompt,
                                       const PromptBackground& background) {
  for (auto& t : ttys)
    if (t.fd.valid()) write_all(t.fd.get(), prompt);
  if (clients) {
    for (size_t i = 0; i < clients->clients_.size();) {
      if (UnlockClients::send(clients->clients_[i], "PROMPT", prompt))
        ++i;
      else
        clients->clients_.erase(clients->clients_.begin() + static_cast<long>(i));
    }
  }
  std::optional<SecretAnswer> answer;
  int from_tty = -1;     // which tty answered
  int from_client = -1;  // which client answered
  const bool serviced = background.fd >= 0 && background.service;
  while (!answer) {
    size_t open_ttys = 0;
    for (auto& t : ttys) open_ttys += t.fd.valid();
    if (open_ttys == 0 && !(clients && clients->active())) break;
    // Order: ttys, clients, the listener, the background work.
    std::vector<struct pollfd> pfds;
    for (auto& t : ttys) pfds.push_back({t.fd.valid() ? t.fd.get() : -1, POLLIN, 0});
    const size_t first_client = pfds.size();
    size_t nclients = clients ? clients->clients_.size() : 0;
    for (size_t i = 0; i < nclients; ++i)
      pfds.push_back({clients->clients_[i].fd.get(), POLLIN, 0});
    const size_t listener_at = pfds.size();
    if (clients)
      pfds.push_back({clients->listener_.valid() ? clients->listener_.get() : -1, POLLIN, 0});
    if (serviced) pfds.push_back({background.fd, POLLIN, 0});
    int r = ::poll(pfds.data(), pfds.size(), -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    // Devices keep arriving while the user types: a USB keyboard needs its driver to be typed on.
    if (serviced && pfds.back().revents != 0) background.service();
    for (size_t i = 0; i < ttys.size() && !answer; ++i) {
      if (pfds[i].fd < 0 || pfds[i].revents == 0) continue;
      char buf[256];
      ssize_t n = ::read(ttys[i].fd.get(), buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {  // end of file or a hung-up tty: this one cannot answer
        ttys[i].fd.reset();
        continue;
      }
      std::string& line = ttys[i].line;
      line.append(buf, static_cast<size_t>(n));
      ::explicit_bzero(buf, sizeof buf);
      std::string got;
      if (take_line(line, got)) {
        answer = SecretAnswer{std::move(got), "on the console " + ttys[i].name};
        from_tty = static_cast<int>(i);
      } else if (line.size() > kMaxLine) {
        wipe(line);  // no newline in 4 KiB: not a passphrase; start over
      }
    }
    // Clients: lines, or end of file (the SSH session ended).
    std::vector<size_t> gone;
    for (size_t i = 0; i < nclients && !answer; ++i) {
      const auto& p = pfds[first_client + i];
      if (p.revents == 0) continue;
      auto& c = clients->clients_[i];
      char buf[256];
      ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        gone.push_back(i);
        continue;
      }
      c.in.append(buf, static_cast<size_t>(n));
      ::explicit_bzero(buf, sizeof buf);
      std::string got;
      while (!answer && take_line(c.in, got)) {
        if (starts_with(got, "HELLO ")) {
          c.who = got.substr(6);
        } else if (starts_with(got, "ANSWER ")) {
          answer = SecretAnswer{got.substr(7), "over SSH from " + c.who};
          from_client = static_cast<int>(i);
        }
        wipe(got);
      }
      if (!answer && c.in.size() > kMaxLine) gone.push_back(i);  // not a client of ours
    }
    for (auto it = gone.rbegin(); it != gone.rend(); ++it) {
      wipe(clients->clients_[*it].in);
      clients->clients_.erase(clients->clients_.begin() + static_cast<long>(*it));
      if (from_client > static_cast<int>(*it)) --from_client;
    }
    if (!answer && clients && clients->listener_.valid() && pfds[listener_at].revents != 0)
      clients->accept_one(prompt);
  }
  // Withdraw the prompt everywhere else, saying where the answer came from.
  for (size_t i = 0; i < ttys.size(); ++i) {
    wipe(ttys[i].line);
    if (!ttys[i].fd.valid()) continue;
    if (answer && static_cast<int>(i) != from_tty)
      write_all(ttys[i].fd.get(), "\nzinitrd: answered " + answer->via + "\n");
    else
      write_all(ttys[i].fd.get(), "\n");
  }
  if (clients && answer) {
    std::vector<UnlockClients::Client> kept;
    for (size_t i = 0; i < clients->clients_.size(); ++i) {
      auto& c = clients->clients_[i];
      if (static_cast<int>(i) == from_client) {
        if (UnlockClients::send(c, "SAY", "received; checking it")) kept.push_back(std::move(c));
      } else {
        (void)UnlockClients::send(c, "TAKEN", "answered " + answer->via);
        wipe(c.in);
      }
    }
    clients->clients_ = std::move(kept);
    // Sessions that connected meanwhile: too late for this prompt; told the same.
    while (clients->listener_.valid()) {
      Fd late(::accept4(clients->listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!late.valid()) break;
      UnlockClients::Client c;
      c.fd = std::move(late);
      (void)UnlockClients::send(c, "TAKEN", "answered " + answer->via);
    }
  }
  return answer;
}

void set_remote_secrets(std::function<UnlockClients*()> open) {
  g_open_remote = std::move(open);
  g_remote = nullptr;
}

UnlockClients* open_remote_secrets() {
  if (g_open_remote) g_remote = g_open_remote();
  return g_remote;
}

void remote_say(std::string_view text) {
  if (g_remote && g_remote->active()) g_remote->say(text);
}

}  // namespace zinitrd::rt
