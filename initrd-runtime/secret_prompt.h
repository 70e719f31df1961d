// secret_prompt.h: one request for a secret, served on every channel at once.
//
// A passphrase prompt is shown on every console and to every client of the unlock socket (the
// `init unlock` command that an SSH login runs, ssh_unlock.h) at the same time. The first
// complete line from any of them answers it; the consoles that did not answer are told where
// the answer came from (the prompt is withdrawn), and the other socket clients are told and
// closed. The client that answered stays connected and hears what came of its answer (a wrong
// passphrase, the next prompt) until the request for secrets ends (UnlockClients::finish).
//
// The socket speaks lines: the server sends "PROMPT text", "SAY text", "TAKEN text" (someone
// else answered; the connection closes) and "DONE text" (the last word); a client sends
// "HELLO who" (where it connects from) and "ANSWER secret".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fd.h"

namespace zinitrd::rt {

/// Where the unlock socket listens while a secret is awaited.
inline constexpr const char* kUnlockSocket = "/run/zinitrd/unlock.sock";

/// Work that must go on while a prompt waits for the user: a fd to watch and what to do when it
/// is readable (the boot's hotplug listener, so a USB keyboard plugged in now gets its driver).
struct PromptBackground {
  int fd = -1;
  std::function<void()> service;
};

/// A console the prompt is shown on: an open tty (any file descriptor in tests) and its name.
struct PromptTty {
  Fd fd;
  std::string name;  ///< "/dev/ttyS0"
  std::string line;  ///< what was typed so far (wiped when the request ends)
};

/// What answered a request: the secret and where it came from.
struct SecretAnswer {
  std::string secret;
  std::string via;  ///< "on the console /dev/ttyS0", "over SSH from 10.0.2.2"
};

/// The clients of the unlock socket, kept across the prompts of one request for secrets.
class UnlockClients {
 public:
  UnlockClients() = default;
  UnlockClients(const UnlockClients&) = delete;
  UnlockClients& operator=(const UnlockClients&) = delete;
  ~UnlockClients();

  /// Accepts clients on LISTENER (a listening unix stream socket) from now on.
  void listen(Fd listener);
  /// True while listening or some client is connected.
  bool active() const { return listener_.valid() || !clients_.empty(); }
  /// Number of connected clients.
  size_t count() const { return clients_.size(); }
  /// Tells every connected client TEXT (each line a SAY), such as "wrong passphrase".
  void say(std::string_view text);
  /// Tells every client TEXT as the last word (DONE), stops listening, and waits up to WAIT_MS
  /// for the clients to hang up (so that they can print it) before closing them.
  void finish(std::string_view text, int64_t wait_ms = 0);

 private:
  friend std::optional<SecretAnswer> ask_secret(std::vector<PromptTty>&, UnlockClients*,
                                                const std::string&, const PromptBackground&);
  struct Client {
    Fd fd;
    std::string who = "an unknown client";
    std::string in;  ///< bytes received, up to a newline
  };
  /// Sends KIND TEXT (one line per line of TEXT) to C; false when C is gone.
  static bool send(const Client& c, std::string_view kind, std::string_view text);
  /// Accepts one pending client and shows it PROMPT (when not empty).
  void accept_one(const std::string& prompt);

  Fd listener_;
  std::vector<Client> clients_;
};

/// Shows PROMPT on every tty of TTYS and to every client of CLIENTS (nullptr: none), and
/// returns the first complete line typed on a tty or sent by a client, servicing BACKGROUND
/// meanwhile. The others are told where the answer came from (above). A tty at end of file stops
/// being asked; nullopt when no tty and no client can answer any more. Echo is the caller's.
std::optional<SecretAnswer> ask_secret(std::vector<PromptTty>& ttys, UnlockClients* clients,
                                       const std::string& prompt,
                                       const PromptBackground& background = {});

/// How prompts reach the unlock socket in this process: OPEN is called when a secret is awaited
/// and returns the clients to serve (starting the network and the SSH server the first time),
/// or nullptr when there is no remote channel. Set by the boot; empty by default.
void set_remote_secrets(std::function<UnlockClients*()> open);
/// The remote channel for a prompt now (see set_remote_secrets), or nullptr.
UnlockClients* open_remote_secrets();
/// Tells the remote channel's clients TEXT when one is open (messages of the key loading).
void remote_say(std::string_view text);

}  // namespace zinitrd::rt
