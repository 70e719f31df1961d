// unlock_command.h: `init unlock`, what an SSH login runs to answer the boot's prompt.
//
// dropbear runs it as the forced command of every login (ssh_unlock.h). It connects to the unlock
// socket of PID 1 (secret_prompt.h), shows each prompt, reads the answer from its terminal with
// echo off (or a line from its standard input when there is no terminal: `echo PASS | ssh ...`),
// and prints what the boot says, until the boot is done asking or someone else answered.
#pragma once

namespace zinitrd::rt {

/// Exit status of `init unlock`: the boot is done asking (the keys are loaded, or it gave up and
/// said why).
inline constexpr int kUnlockDone = 0;
/// Nothing is waiting for a secret, or the connection to the boot broke.
inline constexpr int kUnlockNotAsked = 1;
/// Someone else answered first (on a console, or another SSH session).
inline constexpr int kUnlockTaken = 3;

/// Runs `init unlock` on the process's stdin/stdout; returns its exit status.
int unlock_command();

}  // namespace zinitrd::rt
