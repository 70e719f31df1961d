// early_mounts_test.cc: the standard streams the real init gets when the console came late.
#include "early_mounts.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "test_support.h"

using namespace zinitrd::rt;

namespace {

dev_t rdev_of(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? st.st_rdev : 0;
}

}  // namespace

TEST_CASE("a console that appears late takes over the streams left on /dev/null, no others") {
  // A pseudo-terminal stands for the late console (hvc0); fd 0 and 2 are /dev/null as
  // ensure_standard_fds() leaves them without a console, fd 1 a file the test chose.
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string tty = ::ptsname(master);
  auto end = zinitrd::test::run_in_child([&] {
    int null = ::open("/dev/null", O_RDWR);
    int file = ::open("/proc/self/cmdline", O_RDONLY);
    if (null < 0 || file < 0 || ::dup2(null, 0) != 0 || ::dup2(file, 1) != 1 ||
        ::dup2(null, 2) != 2)
      _exit(10);
    struct stat pts;
    if (::stat(tty.c_str(), &pts) != 0) _exit(11);
    if (attach_late_console("/nonexistent/console") != 0) _exit(12);  // none yet: untouched
    if (attach_late_console("/dev/null") != 0) _exit(13);             // /dev/null is no console
    if (attach_late_console(tty.c_str()) != 2) _exit(14);
    if (rdev_of(0) != pts.st_rdev || rdev_of(2) != pts.st_rdev) _exit(15);
    if (rdev_of(1) == pts.st_rdev) _exit(16);              // not a /dev/null: kept
    if (::fcntl(0, F_GETFD) & FD_CLOEXEC) _exit(17);       // init inherits it
    if (attach_late_console(tty.c_str()) != 0) _exit(18);  // nothing left to move
    _exit(0);
  });
  ::close(master);
  CHECK(end.exit_code == 0);
}
