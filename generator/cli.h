// cli.h: the `zinitrd` command line (Boost.Program_options) and configuration files.
#pragma once

namespace zinitrd::gen {

/// Runs `zinitrd ARGS...`; returns the exit status (0 ok, 1 failed and nothing written, 2 usage).
int run_cli(int argc, char** argv);

}  // namespace zinitrd::gen
