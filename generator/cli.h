// cli.h: the `zinitrd` command line (Boost.Program_options) and configuration files.
#pragma once

#include <string>

namespace zinitrd::gen {

/// Parses TEXT as `zinitrd build` parses one configuration file (INI, the build options'
/// long names) and returns the error a user would see, or "" when it is valid (fuzzing seam).
std::string check_config_text(const std::string& text);

/// Runs `zinitrd ARGS...`; returns the exit status (0 ok, 1 failed and nothing written, 2 usage).
int run_cli(int argc, char** argv);

}  // namespace zinitrd::gen
