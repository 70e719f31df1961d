// output_file_test.cc: the old image survives every failure (full disk, no commit, a killed
// writer), symlinks are replaced rather than followed, mode is 0600, concurrent writers serialise.
#include "output_file.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "image_writer.h"
#include "test_support.h"

namespace zinitrd::gen {
namespace {

namespace fs = std::filesystem;

using test::slurp;
using test::TempDir;
using test::write_file;

// A tmpfs of SIZE mounted on DIR for the scope (a small disk to fill); mounted() is false when
// not permitted. Declared after the TempDir it covers, so it is detached before that is removed.
class TmpfsMount {
 public:
  TmpfsMount(const fs::path& dir, const char* size) : dir_(dir) {
    std::string opts = std::string("size=") + size + ",mode=0755";
    mounted_ = mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  ~TmpfsMount() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }

 private:
  fs::path dir_;
  bool mounted_ = false;
};

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

Status write_string(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0) return Error::sys("write", "", errno);
    off += static_cast<size_t>(n);
  }
  return Ok{};
}

// Replaces PATH with CONTENT through an OutputFile.
void replace(const fs::path& path, const std::string& content) {
  auto out = OutputFile::create(path.string());
  if (!out) FAIL(out.error().message);
  REQUIRE(write_string(out->fd(), content).ok());
  auto st = out->commit();
  if (!st) FAIL(st.error().message);
}

}  // namespace

TEST_CASE("output file: commit replaces the image with mode 0600 whatever the umask") {
  TempDir tmp("zinitrd-output");
  write_file(tmp / "initrd.img", "old");
  chmod((tmp / "initrd.img").c_str(), 0644);
  mode_t old_umask = umask(0);
  replace(tmp / "initrd.img", "new image");
  umask(old_umask);
  CHECK(slurp(tmp / "initrd.img") == "new image");
  struct stat st;
  REQUIRE(stat((tmp / "initrd.img").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(names_in(tmp.path()) == std::vector<std::string>{"initrd.img"});

  replace(tmp / "fresh.img", "created");  // no previous image
  CHECK(slurp(tmp / "fresh.img") == "created");
}

TEST_CASE("output file: without commit the old image is untouched and nothing is left") {
  TempDir tmp("zinitrd-output");
  write_file(tmp / "initrd.img", "old");
  {
    auto out = OutputFile::create((tmp / "initrd.img").string());
    REQUIRE(out.ok());
    REQUIRE(write_string(out->fd(), std::string(100000, 'n')).ok());
    OutputFile moved = std::move(*out);  // the moved-from object must not discard anything twice
  }
  CHECK(slurp(tmp / "initrd.img") == "old");
  CHECK(names_in(tmp.path()) == std::vector<std::string>{"initrd.img"});
}

TEST_CASE("output file: a writer killed mid-write leaves the old image and no temporary file") {
  TempDir tmp("zinitrd-output");
  write_file(tmp / "initrd.img", "old");
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto out = OutputFile::create((tmp / "initrd.img").string());
    if (out) (void)write_string(out->fd(), std::string(1 << 20, 'k'));
    raise(SIGKILL);
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(slurp(tmp / "initrd.img") == "old");
  CHECK(names_in(tmp.path()) == std::vector<std::string>{"initrd.img"});
}

TEST_CASE("output file: a symlink at the output path is replaced, never followed") {
  TempDir tmp("zinitrd-output");
  write_file(tmp / "precious", "do not touch");
  REQUIRE(symlink((tmp / "precious").c_str(), (tmp / "initrd.img").c_str()) == 0);
  replace(tmp / "initrd.img", "image");
  CHECK(slurp(tmp / "precious") == "do not touch");
  CHECK_FALSE(fs::is_symlink(tmp / "initrd.img"));
  CHECK(slurp(tmp / "initrd.img") == "image");
  CHECK(names_in(tmp.path()) == std::vector<std::string>{"initrd.img", "precious"});
}

TEST_CASE("output file: a full file system fails with advice, old image intact, nothing left") {
  TempDir tmp("zinitrd-output");
  TmpfsMount disk(tmp.path(), "1M");
  if (!disk.mounted()) {
    return test::skip(std::string("cannot mount a tmpfs (needs root / CAP_SYS_ADMIN): ") +
                      std::strerror(errno));
  }
  std::string old(300000, 'o');
  replace(tmp / "initrd.img", old);

  // Through the image writer, as `zinitrd build` writes.
  ImageTree t;
  std::string big(2 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  REQUIRE(t.add_data("/big", big).ok());
  {
    auto out = OutputFile::create((tmp / "initrd.img").string());
    REQUIRE(out.ok());
    WriteOptions o;
    o.compression = Compression::kNone;
    auto w = write_image(t, o, out->fd());
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().errnum == ENOSPC);
    Error e = out->explain(w.error());
    MESSAGE(e.message);
    CHECK(e.message.find("no space left writing " + (tmp / "initrd.img").string()) == 0);
    CHECK(e.message.find("free space in " + tmp.path().string()) != std::string::npos);
    CHECK(e.message.find("previous image is unchanged") != std::string::npos);
  }
  CHECK(slurp(tmp / "initrd.img") == old);
  CHECK(names_in(tmp.path()) == std::vector<std::string>{"initrd.img"});

  // The space is really free again: a fitting image still commits.
  replace(tmp / "initrd.img", std::string(500000, 'n'));
  CHECK(slurp(tmp / "initrd.img") == std::string(500000, 'n'));
}

TEST_CASE("output file: concurrent writers serialise and the result is one whole image") {
  TempDir tmp("zinitrd-output");
  write_file(tmp / "initrd.img", "old");
  const std::string a(3 << 20, 'a'), b(2 << 20, 'b');
  std::string err_a, err_b;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  auto writer = [&](const std::string& content, std::string& err) {
    auto out = OutputFile::create((tmp / "initrd.img").string());
    if (!out) {
      err = out.error().message;
      return;
    }
    if (++inside > 1) overlapped = true;  // the lock is held from create() to destruction
    struct Leave {
      std::atomic<int>& n;
      ~Leave() { --n; }
    } leave{inside};  // declared after `out`, so it runs before the lock is released
    for (size_t off = 0; off < content.size(); off += 65536) {  // slowly, to overlap
      if (!write_string(out->fd(), content.substr(off, 65536)).ok()) {
        err = "write failed";
        return;
      }
      std::this_thread::yield();
    }
    if (auto st = out->commit(); !st) err = st.error().message;
  };
  std::thread ta(writer, std::cref(a), std::ref(err_a));
  std::thread tb(writer, std::cref(b), std::ref(err_b));
  ta.join();
  tb.join();
  CHECK(err_a == "");
  CHECK(err_b == "");
  CHECK_FALSE(overlapped.load());
  std::string final_content = slurp(tmp / "initrd.img");
  CHECK((final_content == a || final_content == b));
  CHECK(names_in(tmp.path()) == std::vector<std::string>{"initrd.img"});
}

TEST_CASE("output file: a missing directory or a directory as output says what to do") {
  TempDir tmp("zinitrd-output");
  auto missing = OutputFile::create((tmp / "no/such/initrd.img").string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find((tmp / "no/such").string()) != std::string::npos);
  CHECK(missing.error().message.find("-o") != std::string::npos);
  REQUIRE(mkdir((tmp / "d").c_str(), 0755) == 0);
  auto dir = OutputFile::create((tmp / "d").string());
  REQUIRE_FALSE(dir.ok());
  CHECK(dir.error().message.find("is a directory") != std::string::npos);
}

}  // namespace zinitrd::gen
