// elf_closure.h: which files a set of programs needs in order to run (read with libelf).
//
// For each ELF file: PT_INTERP, then every DT_NEEDED searched as ld.so would (DT_RPATH when there
// is no DT_RUNPATH, LD_LIBRARY_PATH is never used, DT_RUNPATH, the directories of ROOT's
// /etc/ld.so.conf and its includes, then the default system directories), `$ORIGIN`, `$LIB` and
// `$PLATFORM` expanded, recursively. Everything is looked up inside a RootFs. Missing libraries
// are collected, not reported one at a time.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"
#include "root_fs.h"

namespace zinitrd::gen {

/// Everything found by an ElfClosure.
struct ElfClosureResult {
  /// In-root paths that must be in the image, as the program or loader names them (before
  /// resolving symlinks; add each with ImageTree::add_from_root). Sorted, unique.
  std::vector<std::string> files;
  /// Library directories outside the loader's default search path that hold needed libraries;
  /// the runtime exports them as LD_LIBRARY_PATH (the image has no ld.so.cache).
  std::vector<std::string> extra_library_dirs;
  /// One line per problem: "libfoo.so.1 (needed by /usr/sbin/zpool): not found in ..."
  std::vector<std::string> missing;
};

/// Accumulates programs and libraries, then computes their closure.
class ElfClosure {
 public:
  explicit ElfClosure(const RootFs& root);

  /// Adds a program by absolute in-root path, or by name searched in the usual PATH directories
  /// (/usr/local/sbin ... /bin). Returns false and records a missing entry when not found, unless
  /// OPTIONAL, in which case it silently does nothing.
  bool add_program(std::string_view program, bool optional = false);
  /// Adds a library that something dlopen()s, by soname ("libgcc_s.so.1") or in-root path.
  bool add_library(std::string_view library, bool optional = false);
  /// Adds any ELF file by in-root path (e.g. the static runtime: checked, has no dependencies).
  bool add_file(std::string_view path, bool optional = false);

  /// Resolves the whole closure of everything added so far.
  ElfClosureResult resolve();

 private:
  struct Impl;
  const RootFs& root_;
  std::vector<std::pair<std::string, std::string>> pending_;  // in-root path, requested-by
  std::vector<std::string> missing_;
};

/// The PATH directories searched for programs named without a slash.
const std::vector<std::string>& program_search_dirs();

}  // namespace zinitrd::gen
