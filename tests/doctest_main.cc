// The one doctest main shared by every unit test binary. It adds honest skips to doctest: a test
// case that cannot run here calls test::skip(REASON) and returns; the binary then exits 77, which
// CTest (SKIP_RETURN_CODE) reports as Skipped instead of Passed, and the reason is printed.
// A --test-case filter that selects no test case fails: CTest runs each case by its name, and a
// name CTest cannot pass through whole (a ';' splits it) would otherwise pass without running.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "test_support.h"

namespace {

struct SkipState {
  std::string current;  // the running test case
  int started = 0;      // test cases run
  std::vector<std::string> skipped;
};

SkipState& state() {
  static SkipState s;
  return s;
}

// Only remembers the name of the running test case, for skip().
struct CurrentTestListener : doctest::IReporter {
  explicit CurrentTestListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData& in) override {
    state().current = in.m_name;
    ++state().started;
  }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("zinitrd-current-test", 1, CurrentTestListener);

}  // namespace

namespace zinitrd::test {

void skip(std::string_view reason) {
  std::string line = state().current + ": " + std::string(reason);
  std::fprintf(stderr, "SKIPPED: %s\n", line.c_str());
  state().skipped.push_back(std::move(line));
}

}  // namespace zinitrd::test

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  int status = context.run();
  if (context.shouldExit() || status != 0) return status;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool filter = a.starts_with("--test-case=") || a.starts_with("-tc=");
    if (filter && state().started == 0) {
      std::fprintf(stderr, "FAILED: %s selects no test case (a name with ';' reaches CTest cut)\n",
                   a.c_str());
      return 1;
    }
  }
  const auto& skipped = state().skipped;
  if (skipped.empty()) return 0;
  std::fprintf(stderr, "\nSKIPPED %zu test case(s): they did not run, so they did not pass:\n",
               skipped.size());
  for (const auto& s : skipped) std::fprintf(stderr, "  SKIPPED: %s\n", s.c_str());
  return zinitrd::test::kSkipExitCode;
}
