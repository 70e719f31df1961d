// failure.h: what the boot reports when a stage fails.
//
// A user at the console must learn what failed, the exact command with its output and exit code,
// and what to try next; every stage that can fail fills one of these and the rescue code prints
// it. (Error in result.h is one sentence for library code; this is the user-facing report.)
#pragma once

#include <string>
#include <vector>

namespace zinitrd::rt {

/// A failed boot stage, as shown to the user.
struct Failure {
  std::string stage;               ///< "modules", "import", "mount", "switch_root"...
  std::string summary;             ///< one sentence: what did not work
  std::string command;             ///< the exact command line run, if any
  std::string output;              ///< its combined output
  std::string status;              ///< "exit code 1", "timed out after ..."
  std::vector<std::string> hints;  ///< what to try, most likely first
  bool retryable = true;           ///< false when retrying cannot help without a change
};

}  // namespace zinitrd::rt
