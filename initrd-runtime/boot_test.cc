// boot_test.cc: the boot's decisions that need no kernel.
#include "boot.h"

#include <doctest/doctest.h>

using namespace zinitrd::rt;

TEST_CASE("without a shell: retry what waiting can cure, reboot what it cannot") {
  const int64_t limit = kDefaultGiveUpS * 1000;
  CHECK(no_shell_action(true, 0, limit) == NoShellAction::kRetry);
  CHECK(no_shell_action(true, limit - 1, limit) == NoShellAction::kRetry);
  CHECK(no_shell_action(true, limit, limit) == NoShellAction::kReboot);
  // A hostid mismatch or a misspelled dataset does not go away by waiting.
  CHECK(no_shell_action(false, 0, limit) == NoShellAction::kReboot);
  // rd.timeout=0: never reboot, whatever failed.
  CHECK(no_shell_action(false, 0, 0) == NoShellAction::kRetry);
  CHECK(no_shell_action(true, 1'000'000, 0) == NoShellAction::kRetry);
}
