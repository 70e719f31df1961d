// output_file.h: replaces an image atomically, or not at all.
//
// The new image is written to an unnamed temporary file (O_TMPFILE) in the target directory, so
// that a crash or signal leaves nothing behind; commit() fsyncs it, sets mode 0600, links it under
// a temporary name, renames it over the target (replacing a symlink, never following it) and
// fsyncs the directory. Until commit() the old image is untouched. An exclusive flock on the
// target directory serialises concurrent builds of images in the same directory.
#pragma once

#include <string>

#include "fd.h"
#include "result.h"

namespace zinitrd::gen {

/// A pending replacement of one file.
class OutputFile {
 public:
  /// Locks PATH's directory and opens the temporary file. Errors name the directory and errno.
  static Result<OutputFile> create(std::string path);
  OutputFile(OutputFile&&) = default;
  OutputFile& operator=(OutputFile&&) = default;
  /// Discards the temporary file unless committed.
  ~OutputFile();

  /// The temporary file to write to.
  int fd() const { return fd_.get(); }
  /// The final path.
  const std::string& path() const { return path_; }
  /// Makes the written content the file at path(): fsync, chmod 0600, rename, fsync directory.
  Status commit();
  /// Rewords ERROR (from writing to fd()) for the user: names path(), says what to do, and that
  /// the previous image is unchanged.
  Error explain(const Error& error) const;

 private:
  OutputFile() = default;
  std::string path_;
  std::string temp_name_;  // only set while a named temporary exists (O_TMPFILE fallback)
  Fd dir_;                 // the directory, locked
  Fd fd_;
  bool committed_ = false;
};

}  // namespace zinitrd::gen
