// elf_closure_test.cc: ElfClosure against real host binaries (compared with ldd), and against
// fixture roots holding programs this test compiles with the system compiler: a $ORIGIN
// RUNPATH, DT_RPATH precedence, ld.so.conf includes, wrong-class libraries, scripts, static
// binaries, and every missing library reported at once.
#include "elf_closure.h"

#include <doctest/doctest.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "process.h"
#include "test_support.h"
#include "text.h"

namespace fs = std::filesystem;

using zinitrd::gen::ElfClosure;
using zinitrd::gen::ElfClosureResult;
using zinitrd::gen::RootFs;
using zinitrd::test::TempDir;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string basename_of(const std::string& p) { return p.substr(p.rfind('/') + 1); }

// soname -> path, from `ldd PROGRAM` (the host loader's own answer).
std::map<std::string, std::string> ldd(const std::string& program) {
  std::map<std::string, std::string> out;
  auto ldd_out = zinitrd::gen::run_command({"ldd", program});
  REQUIRE(ldd_out.ok());
  for (const std::string& l : zinitrd::split_all(ldd_out.out, '\n')) {
    auto arrow = l.find(" => ");
    if (arrow == std::string::npos) continue;
    std::string name = l.substr(l.find_first_not_of(" \t"), arrow - l.find_first_not_of(" \t"));
    std::string rest = l.substr(arrow + 4);
    out[name] = rest.substr(0, rest.find(' '));
  }
  return out;
}

// Checks that the closure of PROGRAM on the host has every library ldd lists, and no problem.
void check_against_ldd(const std::string& program) {
  RootFs root("/");
  ElfClosure closure(root);
  REQUIRE(closure.add_program(program));
  ElfClosureResult r = closure.resolve();
  CHECK_MESSAGE(r.missing.empty(), (r.missing.empty() ? "" : r.missing[0]));
  CHECK(has(r.files, program));
  CHECK(has(r.files, "/lib64/ld-linux-x86-64.so.2"));
  auto libs = ldd(program);
  REQUIRE_FALSE(libs.empty());
  for (const auto& [soname, path] : libs) {
    bool found = std::any_of(r.files.begin(), r.files.end(),
                             [&](const std::string& f) { return basename_of(f) == soname; });
    CHECK_MESSAGE(found,
                  soname << " (ldd: " << path << ") missing from the closure of " << program);
  }
  CHECK(std::is_sorted(r.files.begin(), r.files.end()));
  CHECK(std::adjacent_find(r.files.begin(), r.files.end()) == r.files.end());
  CHECK(r.extra_library_dirs.empty());
}

// A fixture root with the host's libc and dynamic loader copied in (a real Debian layout:
// /lib64/ld-linux-x86-64.so.2 an absolute link into /lib/x86_64-linux-gnu), where the test
// compiles its own programs and libraries.
class ElfRoot {
 public:
  ElfRoot() {
    fs::create_directories(build_);
    fs::create_directories(dir_ + "/lib/x86_64-linux-gnu");
    fs::create_directories(dir_ + "/lib64");
    fs::copy_file(fs::canonical("/lib/x86_64-linux-gnu/libc.so.6"),
                  dir_ + "/lib/x86_64-linux-gnu/libc.so.6");
    fs::copy_file(fs::canonical("/lib64/ld-linux-x86-64.so.2"),
                  dir_ + "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
    fs::create_symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                       dir_ + "/lib64/ld-linux-x86-64.so.2");
  }
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& in_root) const { return dir_ + in_root; }

  // Builds shared library SONAME (defining function FUNC) into in-root IN_DIR, linked against
  // the earlier-built DEPS with extra linker FLAGS.
  void library(const std::string& soname, const std::string& func, const std::string& in_dir,
               const std::vector<std::string>& deps = {}, const std::string& flags = "") {
    std::string src = build_ + "/" + func + ".c";
    // Calls into libc so that the library has its own DT_NEEDED.
    std::ofstream(src) << "#include <unistd.h>\nint " << func
                       << "(void) { return getpid() > 0 ? 42 : 0; }\n";
    fs::create_directories(dir_ + in_dir);
    std::vector<std::string> cc{"cc",    "-shared",
                                "-fPIC", "-Wl,--no-as-needed,-soname," + soname,
                                "-o",    dir_ + in_dir + "/" + soname,
                                src};
    for (const auto& d : deps) cc.push_back(build_ + "/" + d);
    for (auto& f : zinitrd::split_words(flags)) cc.push_back(std::move(f));
    run(cc);
    // Also a link-time copy, so programs can be linked without the in-root one existing.
    fs::copy_file(dir_ + in_dir + "/" + soname, build_ + "/" + soname,
                  fs::copy_options::overwrite_existing);
  }

  // Builds in-root program PATH calling FUNCS from SONAMES, with extra linker FLAGS.
  void program(const std::string& in_path, const std::vector<std::string>& funcs,
               const std::vector<std::string>& sonames, const std::string& flags) {
    std::string src = build_ + "/main.c";
    {
      std::ofstream c(src);
      for (const auto& f : funcs) c << "int " << f << "(void);\n";
      c << "int main(void) { return 0";
      for (const auto& f : funcs) c << " + " << f << "()";
      c << "; }\n";
    }
    fs::create_directories(fs::path(dir_ + in_path).parent_path());
    std::vector<std::string> cc{"cc", "-o", dir_ + in_path, src};
    for (const auto& s : sonames) cc.push_back(build_ + "/" + s);
    for (auto& f : zinitrd::split_words(flags)) cc.push_back(std::move(f));
    run(cc);
  }

  void text(const std::string& in_path, const std::string& content) {
    zinitrd::test::write_file(dir_ + in_path, content);
  }

  static void run(const std::vector<std::string>& argv) {
    zinitrd::gen::CommandOptions o;
    o.merge_stderr = true;
    auto r = zinitrd::gen::run_command(argv, o);
    INFO("command: " << zinitrd::format_command(argv) << "\n" << r.out);
    REQUIRE(r.ok());
  }

 private:
  TempDir tmp_{"zinitrd-elf"};
  std::string dir_ = (tmp_ / "root").string();     // the fixture root
  std::string build_ = (tmp_ / "build").string();  // sources and link-time copies, outside it
};

const std::vector<std::string> kLibc = {"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                                        "/lib/x86_64-linux-gnu/libc.so.6",
                                        "/lib64/ld-linux-x86-64.so.2"};

std::vector<std::string> with_libc(std::vector<std::string> v) {
  v.insert(v.end(), kLibc.begin(), kLibc.end());
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("elf_closure: program_search_dirs") {
  std::vector<std::string> want = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                   "/usr/bin",        "/sbin",          "/bin"};
  CHECK(zinitrd::gen::program_search_dirs() == want);
}

TEST_CASE("elf_closure: host /bin/ls matches ldd") {
  check_against_ldd("/bin/ls");
  RootFs root("/");
  ElfClosure closure(root);
  REQUIRE(closure.add_program("ls"));
  auto r = closure.resolve();
  CHECK(r.missing.empty());
  CHECK(has(r.files, "/usr/bin/ls"));
  CHECK(has(r.files, "/lib/x86_64-linux-gnu/libc.so.6"));
}

TEST_CASE("elf_closure: host zpool matches ldd") {
  if (!fs::exists("/usr/sbin/zpool")) {
    return zinitrd::test::skip("/usr/sbin/zpool is not installed (run scripts/setup-debian.sh)");
  }
  check_against_ldd("/usr/sbin/zpool");
}

TEST_CASE("elf_closure: $ORIGIN RUNPATH is expanded inside the root") {
  ElfRoot t;
  t.library("libzt.so.1", "zt", "/opt/zt/lib");
  t.program("/opt/zt/bin/prog", {"zt"}, {"libzt.so.1"},
            "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib");
  RootFs root(t.dir());
  ElfClosure closure(root);
  REQUIRE(closure.add_program("/opt/zt/bin/prog"));
  auto r = closure.resolve();
  CHECK_MESSAGE(r.missing.empty(), (r.missing.empty() ? "" : r.missing[0]));
  CHECK(r.files == with_libc({"/opt/zt/bin/prog", "/opt/zt/lib/libzt.so.1"}));
  CHECK(r.extra_library_dirs == std::vector<std::string>{"/opt/zt/lib"});

  // Without the library the message shows the expanded $ORIGIN directory first.
  fs::remove(t.path("/opt/zt/lib/libzt.so.1"));
  ElfClosure again(root);
  REQUIRE(again.add_program("/opt/zt/bin/prog"));
  auto r2 = again.resolve();
  REQUIRE(r2.missing.size() == 1);
  CHECK(r2.missing[0].rfind("libzt.so.1 (needed by /opt/zt/bin/prog): not found in "
                            "/opt/zt/lib:/lib/x86_64-linux-gnu:",
                            0) == 0);
}

TEST_CASE("elf_closure: ${ORIGIN}, $LIB and $PLATFORM, a program reached by PATH search") {
  ElfRoot t;
  t.library("libzt.so.1", "zt", "/usr/lib/zt/lib/x86_64-linux-gnu/x86_64");
  t.program("/usr/sbin/ztool", {"zt"}, {"libzt.so.1"},
            "-Wl,--enable-new-dtags,-rpath,${ORIGIN}/../lib/zt/$LIB/${PLATFORM}");
  RootFs root(t.dir());
  ElfClosure closure(root);
  REQUIRE(closure.add_program("ztool"));
  auto r = closure.resolve();
  CHECK_MESSAGE(r.missing.empty(), (r.missing.empty() ? "" : r.missing[0]));
  CHECK(r.files ==
        with_libc({"/usr/lib/zt/lib/x86_64-linux-gnu/x86_64/libzt.so.1", "/usr/sbin/ztool"}));
}

TEST_CASE("elf_closure: DT_RPATH before ld.so.conf, relative ld.so.conf includes") {
  ElfRoot t;
  t.library("libzt.so.1", "zt", "/opt/rp/lib");
  t.library("libzt.so.1", "zt", "/opt/conf/lib");  // also in an ld.so.conf directory
  t.library("libzc.so.1", "zc", "/opt/conf/lib");
  t.text("/etc/ld.so.conf", "# comment\ninclude ld.so.conf.d/*.conf\n");
  t.text("/etc/ld.so.conf.d/zt.conf", "/opt/conf/lib  # trailing comment\n");
  t.program("/usr/bin/rp", {"zt", "zc"}, {"libzt.so.1", "libzc.so.1"},
            "-Wl,--disable-new-dtags,-rpath,/opt/rp/lib");
  t.program("/usr/bin/conf", {"zt"}, {"libzt.so.1"}, "");
  RootFs root(t.dir());

  ElfClosure rp(root);
  REQUIRE(rp.add_program("/usr/bin/rp"));
  auto r = rp.resolve();
  CHECK_MESSAGE(r.missing.empty(), (r.missing.empty() ? "" : r.missing[0]));
  CHECK(r.files ==
        with_libc({"/opt/conf/lib/libzc.so.1", "/opt/rp/lib/libzt.so.1", "/usr/bin/rp"}));
  CHECK(r.extra_library_dirs == std::vector<std::string>{"/opt/rp/lib", "/opt/conf/lib"});

  ElfClosure conf(root);
  REQUIRE(conf.add_program("/usr/bin/conf"));
  auto c = conf.resolve();
  CHECK(c.missing.empty());
  CHECK(c.files == with_libc({"/opt/conf/lib/libzt.so.1", "/usr/bin/conf"}));
  CHECK(c.extra_library_dirs == std::vector<std::string>{"/opt/conf/lib"});

  // DT_RPATH is inherited down the loader chain, but not by an object that has DT_RUNPATH.
  t.library("libzb.so.1", "zb", "/opt/run/lib");
  t.library("libzb.so.1", "zb", "/opt/rp/lib");
  t.library("libza.so.1", "za", "/opt/rp/lib", {"libzb.so.1"},
            "-Wl,--enable-new-dtags,-rpath,/opt/run/lib");
  t.library("libzn.so.1", "zn", "/opt/rp/lib", {"libzb.so.1"});
  t.program("/usr/bin/chain", {"za", "zn"}, {"libza.so.1", "libzn.so.1"},
            "-Wl,--disable-new-dtags,-rpath,/opt/rp/lib");
  ElfClosure chain(root);
  REQUIRE(chain.add_program("/usr/bin/chain"));
  auto ch = chain.resolve();
  CHECK(ch.missing.empty());
  CHECK(ch.files ==
        with_libc({"/opt/rp/lib/libza.so.1", "/opt/rp/lib/libzb.so.1", "/opt/rp/lib/libzn.so.1",
                   "/opt/run/lib/libzb.so.1", "/usr/bin/chain"}));

  // A dlopen()ed library by soname is searched in the same ld.so.conf + default directories.
  ElfClosure dl(root);
  REQUIRE(dl.add_library("libzc.so.1"));
  auto d = dl.resolve();
  CHECK(d.missing.empty());
  // libc.so.6 is itself runnable and names the loader in its PT_INTERP.
  CHECK(d.files == with_libc({"/opt/conf/lib/libzc.so.1"}));
  CHECK(d.extra_library_dirs == std::vector<std::string>{"/opt/conf/lib"});
}

TEST_CASE("elf_closure: libraries of the wrong class or machine are skipped") {
  ElfRoot t;
  t.library("libzt.so.1", "zt", "/opt/zt/lib");
  fs::create_directories(t.path("/opt/zt/lib32"));
  fs::create_directories(t.path("/opt/zt/libarm"));
  fs::copy_file(t.path("/opt/zt/lib/libzt.so.1"), t.path("/opt/zt/lib32/libzt.so.1"));
  fs::copy_file(t.path("/opt/zt/lib/libzt.so.1"), t.path("/opt/zt/libarm/libzt.so.1"));
  t.text("/opt/zt/libtext/libzt.so.1", "not an ELF file\n");
  {
    std::fstream f(t.path("/opt/zt/lib32/libzt.so.1"),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4);
    f.put(1);  // EI_CLASS = ELFCLASS32
  }
  {
    std::fstream f(t.path("/opt/zt/libarm/libzt.so.1"),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(18);
    f.put(static_cast<char>(183));  // e_machine = EM_AARCH64
  }
  t.program("/opt/zt/bin/prog", {"zt"}, {"libzt.so.1"},
            "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib32:$ORIGIN/../libtext:$ORIGIN/../"
            "libarm:$ORIGIN/../lib");
  RootFs root(t.dir());
  ElfClosure closure(root);
  REQUIRE(closure.add_program("/opt/zt/bin/prog"));
  auto r = closure.resolve();
  CHECK_MESSAGE(r.missing.empty(), (r.missing.empty() ? "" : r.missing[0]));
  CHECK(r.files == with_libc({"/opt/zt/bin/prog", "/opt/zt/lib/libzt.so.1"}));
}

TEST_CASE("elf_closure: every missing library and program is reported") {
  ElfRoot t;
  t.library("libzt.so.1", "zt", "/opt/zt/lib");
  t.library("libzu.so.2", "zu", "/opt/zt/lib");
  t.program("/usr/sbin/zpool", {"zt", "zu"}, {"libzt.so.1", "libzu.so.2"}, "");
  t.program("/usr/sbin/zfs", {"zu"}, {"libzu.so.2"}, "");
  fs::remove_all(t.path("/opt/zt"));
  RootFs root(t.dir());
  ElfClosure closure(root);
  CHECK(closure.add_program("zpool"));
  CHECK(closure.add_program("/usr/sbin/zfs"));
  CHECK_FALSE(closure.add_program("mount.zfs"));
  CHECK_FALSE(closure.add_program("/sbin/fsck.zfs"));
  CHECK_FALSE(closure.add_library("libgcc_s.so.1"));
  CHECK_FALSE(closure.add_program("optional-tool", true));
  CHECK_FALSE(closure.add_library("libssl.so.3", true));
  auto r = closure.resolve();
  CHECK(r.files == with_libc({"/usr/sbin/zfs", "/usr/sbin/zpool"}));
  REQUIRE(r.missing.size() == 6);
  std::string all;
  for (const auto& m : r.missing) all += m + "\n";
  INFO(all);
  CHECK(r.missing[0] ==
        "mount.zfs (program): not found in "
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  CHECK(r.missing[1] == "/sbin/fsck.zfs: not found");
  CHECK(r.missing[2].rfind(
            "libgcc_s.so.1 (dlopen()ed library): not found in /lib/x86_64-linux-gnu:", 0) == 0);
  CHECK(all.find("libzt.so.1 (needed by /usr/sbin/zpool): not found in /lib/x86_64-linux-gnu:"
                 "/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib\n") !=
        std::string::npos);
  CHECK(all.find("libzu.so.2 (needed by /usr/sbin/zpool): not found in") != std::string::npos);
  CHECK(all.find("libzu.so.2 (needed by /usr/sbin/zfs): not found in") != std::string::npos);
  CHECK(all.find("optional-tool") == std::string::npos);
  CHECK(all.find("libssl") == std::string::npos);
}

TEST_CASE("elf_closure: scripts bring their interpreter, static binaries need nothing") {
  ElfRoot t;
  t.library("libzt.so.1", "zt", "/usr/lib/x86_64-linux-gnu");
  t.program("/usr/bin/zsh-like", {"zt"}, {"libzt.so.1"}, "");
  t.text("/usr/lib/zinitrd/hook", "#!/usr/bin/zsh-like -e\necho hi\n");
  t.text("/usr/lib/zinitrd/env-hook", "#!/usr/bin/env -S zsh-like -e\necho hi\n");
  t.text("/usr/lib/zinitrd/broken", "#!/bin/nosuchshell\n");
  t.text("/etc/zfs/zed.rc", "ZED_X=1\n");
  RootFs root(t.dir());

  ElfClosure closure(root);
  REQUIRE(closure.add_file("/usr/lib/zinitrd/hook"));
  REQUIRE(closure.add_file("/etc/zfs/zed.rc"));
  auto r = closure.resolve();
  CHECK_MESSAGE(r.missing.empty(), (r.missing.empty() ? "" : r.missing[0]));
  CHECK(r.files == with_libc({"/etc/zfs/zed.rc", "/usr/bin/zsh-like",
                              "/usr/lib/x86_64-linux-gnu/libzt.so.1", "/usr/lib/zinitrd/hook"}));

  ElfClosure bad(root);
  REQUIRE(bad.add_file("/usr/lib/zinitrd/broken"));
  REQUIRE(bad.add_file("/usr/lib/zinitrd/env-hook"));
  auto b = bad.resolve();
  REQUIRE(b.missing.size() == 2);
  CHECK(b.missing[0] == "/bin/nosuchshell (interpreter of /usr/lib/zinitrd/broken): not found");
  CHECK(b.missing[1] == "/usr/bin/env (interpreter of /usr/lib/zinitrd/env-hook): not found");
  CHECK(has(b.files, "/usr/bin/zsh-like"));  // env's program is still followed

  std::string src = t.path("/static.c");
  std::ofstream(src) << "int main(void) { return 0; }\n";
  if (!zinitrd::gen::run_command({"cc", "-static", "-o", t.path("/usr/bin/static"), src}).ok()) {
    return zinitrd::test::skip(
        "static binary check: `cc -static` failed (libc6-dev's libc.a missing? run "
        "scripts/setup-debian.sh)");
  }
  ElfClosure st(root);
  REQUIRE(st.add_program("static"));
  auto s = st.resolve();
  CHECK(s.missing.empty());
  CHECK(s.files == std::vector<std::string>{"/usr/bin/static"});
}
