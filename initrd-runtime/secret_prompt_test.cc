// secret_prompt_test.cc: one prompt on consoles and unlock-socket clients; the first answer wins.
// Consoles are socketpairs (the test holds the "keyboard" end), clients connect to a real unix
// socket in a temporary directory, as `init unlock` does.
#include "secret_prompt.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

using namespace zinitrd;
using namespace zinitrd::rt;

namespace {

// A console: the tty end given to ask_secret and the user's end.
struct FakeTty {
  PromptTty tty;
  Fd user;
  explicit FakeTty(const char* name) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    tty.fd = Fd(sv[0]);
    tty.name = name;
    user = Fd(sv[1]);
  }
};

void put(int fd, const std::string& s) {
  REQUIRE(::write(fd, s.data(), s.size()) == (ssize_t)s.size());
}

// Everything readable on FD now (waits for its peer to write what it will, briefly).
std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// True when the peer of FD closed it (end of file after any pending data).
bool closed(int fd) {
  drain(fd);
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

struct Socket {
  std::string dir, path;
  Socket() {
    char tmpl[] = "/tmp/secret_prompt_test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    dir = tmpl;
    path = dir + "/unlock.sock";
  }
  ~Socket() {
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
  Fd listen() {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un a {};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd.get(), 8) == 0);
    return fd;
  }
  Fd connect() {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un a {};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    return fd;
  }
};

}  // namespace

TEST_CASE("a console answers: the other console and every SSH client are told, clients closed") {
  FakeTty serial("/dev/ttyS0"), vga("/dev/tty0");
  Socket sock;
  UnlockClients clients;
  clients.listen(sock.listen());
  Fd client = sock.connect();  // connected before the prompt: accepted while it waits
  put(serial.user.get(), "secret-1\n");
  std::vector<PromptTty> ttys;
  ttys.push_back(std::move(serial.tty));
  ttys.push_back(std::move(vga.tty));
  // The typed line is there before the poll: the console wins even though the client waits.
  auto a = ask_secret(ttys, &clients, "Enter passphrase: ");
  REQUIRE(a);
  CHECK(a->secret == "secret-1");
  CHECK(a->via == "on the console /dev/ttyS0");
  CHECK(drain(serial.user.get()) == "Enter passphrase: \n");
  CHECK(drain(vga.user.get()) ==
        "Enter passphrase: \nzinitrd: answered on the console /dev/ttyS0\n");
  // The client that connected meanwhile is told and closed: it has nothing to answer any more.
  CHECK(clients.count() == 0);
  CHECK(drain(client.get()) == "TAKEN answered on the console /dev/ttyS0\n");
  CHECK(closed(client.get()));
}

TEST_CASE("an SSH client answers: consoles withdraw the prompt, other clients are closed") {
  FakeTty serial("/dev/ttyS0");
  Socket sock;
  UnlockClients clients;
  clients.listen(sock.listen());
  Fd answering = sock.connect(), other = sock.connect();
  put(other.get(), "HELLO 192.0.2.7\n");
  put(answering.get(), "HELLO 10.0.2.2\nANSWER secret-2\n");
  std::vector<PromptTty> ttys;
  ttys.push_back(std::move(serial.tty));
  auto a = ask_secret(ttys, &clients, "Enter passphrase: ");
  REQUIRE(a);
  CHECK(a->secret == "secret-2");
  CHECK(a->via == "over SSH from 10.0.2.2");
  CHECK(drain(serial.user.get()) ==
        "Enter passphrase: \nzinitrd: answered over SSH from 10.0.2.2\n");
  // The answering client stays to hear the outcome; the other one was told and closed.
  CHECK(clients.count() == 1);
  // (It was still waiting to be accepted when the answer came: it hears only that.)
  CHECK(drain(other.get()) == "TAKEN answered over SSH from 10.0.2.2\n");
  CHECK(closed(other.get()));
  std::string to_answering = drain(answering.get());
  CHECK(to_answering.find("PROMPT Enter passphrase: \n") != std::string::npos);
  CHECK(to_answering.find("SAY received; checking it\n") != std::string::npos);
  // What the boot says next reaches it, and the last word closes it.
  clients.say("wrong passphrase for 'rpool'");
  CHECK(drain(answering.get()) == "SAY wrong passphrase for 'rpool'\n");
  // The next prompt goes to the kept client; a console at end of file no longer counts.
  ::shutdown(ttys[0].fd.get(), SHUT_RD);
  put(answering.get(), "ANSWER secret-3\n");
  a = ask_secret(ttys, &clients, "try 2: ");
  REQUIRE(a);
  CHECK(a->secret == "secret-3");
  CHECK(drain(answering.get()).find("PROMPT try 2: \n") == 0);
  clients.finish("the keys are loaded; the boot continues");
  CHECK(drain(answering.get()) == "DONE the keys are loaded; the boot continues\n");
  CHECK(closed(answering.get()));
  CHECK_FALSE(clients.active());
}

TEST_CASE("with every console at end of file the prompt waits for SSH, and ends without it") {
  ::signal(SIGPIPE, SIG_IGN);  // a socketpair (unlike a tty) raises it for the prompt's write
  FakeTty serial("/dev/ttyS0");
  serial.user.reset();  // nobody can type there
  std::vector<PromptTty> ttys;
  ttys.push_back(std::move(serial.tty));
  SUBCASE("no remote channel: nobody can answer") {
    CHECK_FALSE(ask_secret(ttys, nullptr, "Enter passphrase: "));
  }
  SUBCASE("a listening socket: a client that connects later answers") {
    Socket sock;
    UnlockClients clients;
    clients.listen(sock.listen());
    Fd late = sock.connect();
    put(late.get(), "ANSWER secret-4\n");
    auto a = ask_secret(ttys, &clients, "Enter passphrase: ");
    REQUIRE(a);
    CHECK(a->secret == "secret-4");
    CHECK(a->via == "over SSH from an unknown client");
  }
}

TEST_CASE("a client that hangs up or floods is dropped, a long console line starts over") {
  FakeTty serial("/dev/ttyS0");
  Socket sock;
  UnlockClients clients;
  clients.listen(sock.listen());
  {
    Fd gone = sock.connect();  // connects and hangs up at once
  }
  Fd flood = sock.connect();
  put(flood.get(), std::string(5000, 'x'));
  put(serial.user.get(), std::string(5000, 'y') + "right\n");
  std::vector<PromptTty> ttys;
  ttys.push_back(std::move(serial.tty));
  auto a = ask_secret(ttys, &clients, "p: ");
  REQUIRE(a);
  CHECK(a->secret.size() < 4200);  // the 5000 'y' without a newline were dropped on the way
  CHECK(a->secret.substr(a->secret.size() - 5) == "right");
}

TEST_CASE("set_remote_secrets: prompts reach the remote channel only when one is set") {
  CHECK(open_remote_secrets() == nullptr);
  UnlockClients clients;
  int opened = 0;
  set_remote_secrets([&] {
    ++opened;
    return &clients;
  });
  CHECK(open_remote_secrets() == &clients);
  CHECK(opened == 1);
  remote_say("nobody listens: nothing happens");
  set_remote_secrets({});
  CHECK(open_remote_secrets() == nullptr);
}
