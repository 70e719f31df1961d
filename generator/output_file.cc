// output_file.cc: atomic replacement of the image: O_TMPFILE (or a named temporary), fsync,
// link, rename, fsync the directory. The rename replaces the directory entry itself, so a
// symlink at the output path is replaced rather than followed.
#include "output_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

namespace zinitrd::gen {

namespace {

// Directory and base name of PATH ("img" -> ".", "img").
std::pair<std::string, std::string> split_path(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

// "what to do" for the common ways writing an image fails.
std::string advice(int errnum, const std::string& dir) {
  switch (errnum) {
    case ENOSPC:
    case EDQUOT:
      return "free space in " + dir;
    case EROFS:
      return "remount " + dir + " read-write";
    case EACCES:
    case EPERM:
      return "run as root, or choose another output with -o";
    case ENOENT:
    case ENOTDIR:
      return "create " + dir + " or choose another output with -o";
    default:
      return "fix the cause, or choose another output with -o";
  }
}

}  // namespace

Result<OutputFile> OutputFile::create(std::string path) {
  auto [dir, base] = split_path(path);
  if (base.empty() || base == "." || base == "..")
    return Error::msg("output '" + path +
                      "' names a directory: give the image's file name with -o");
  OutputFile out;
  out.path_ = std::move(path);
  out.dir_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!out.dir_.valid()) {
    int e = errno;
    return Error{"cannot open directory '" + dir + "' for " + out.path_ + ": " + std::strerror(e) +
                     ": " + advice(e, dir),
                 e};
  }
  // Serialises concurrent builds writing into this directory.
  while (flock(out.dir_.get(), LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int e = errno;
    return Error{"cannot lock directory '" + dir + "': " + std::strerror(e), e};
  }
  struct stat st;
  if (fstatat(out.dir_.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
    return Error::msg("output '" + out.path_ +
                      "' is a directory: give the image's file name with -o");

  out.fd_.reset(::openat(out.dir_.get(), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!out.fd_.valid()) {
    // File systems without O_TMPFILE (EOPNOTSUPP; EISDIR/EINVAL on old kernels): a named
    // temporary, removed by the destructor if the build does not commit.
    std::string templ = dir + "/." + base + ".XXXXXX";
    int fd = mkostemp(templ.data(), O_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      return Error{"cannot create a temporary file in '" + dir + "': " + std::strerror(e) + ": " +
                       advice(e, dir) + "; the previous image is unchanged",
                   e};
    }
    out.fd_.reset(fd);
    out.temp_name_ = templ.substr(templ.rfind('/') + 1);
  }
  return out;
}

OutputFile::~OutputFile() {
  if (!committed_ && dir_.valid() && !temp_name_.empty())
    unlinkat(dir_.get(), temp_name_.c_str(), 0);
}

Error OutputFile::explain(const Error& error) const {
  std::string dir = split_path(path_).first;
  std::string m = error.errnum == ENOSPC || error.errnum == EDQUOT
                      ? "no space left writing " + path_
                      : "writing " + path_ + " failed";
  m += " (" + error.message + "): " + advice(error.errnum, dir) +
       "; the previous image is unchanged";
  return Error{std::move(m), error.errnum};
}

Status OutputFile::commit() {
  if (committed_) return Ok{};
  auto fail = [&](const char* what, int e) { return explain(Error::sys(what, path_, e)); };
  if (fsync(fd_.get()) != 0) return fail("fsync", errno);
  if (fchmod(fd_.get(), 0600) != 0) return fail("chmod", errno);

  const std::string base = split_path(path_).second;
  if (temp_name_.empty()) {
    // Give the unnamed file a temporary name next to the target, then rename it over the target.
    std::random_device rd;
    std::string proc = "/proc/self/fd/" + std::to_string(fd_.get());
    for (int attempt = 0;; ++attempt) {
      std::string name = "." + base + "." + std::to_string(rd() % 1000000000u);
      int r = linkat(AT_FDCWD, proc.c_str(), dir_.get(), name.c_str(), AT_SYMLINK_FOLLOW);
      if (r != 0 && errno == ENOENT)  // no /proc: AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH
        r = linkat(fd_.get(), "", dir_.get(), name.c_str(), AT_EMPTY_PATH);
      if (r == 0) {
        temp_name_ = name;
        break;
      }
      if (errno != EEXIST || attempt > 100) return fail("link temporary file for", errno);
    }
  }
  if (renameat(dir_.get(), temp_name_.c_str(), dir_.get(), base.c_str()) != 0)
    return fail("rename over", errno);
  temp_name_.clear();
  committed_ = true;
  if (fsync(dir_.get()) != 0) return fail("fsync the directory of", errno);
  return Ok{};
}

}  // namespace zinitrd::gen
