// result_test.cc: Result never dereferences what it does not hold: a wrong access is reported
// and ends in std::terminate() (PID 1's terminate handler takes it to the rescue path).
#include "result.h"

#include <doctest/doctest.h>
#include <signal.h>

#include <functional>
#include <string>

#include "test_support.h"

using namespace zinitrd;

namespace {

struct Pair {
  int a = 1;
};

}  // namespace

TEST_CASE("Result: values and errors are returned as held") {
  Result<std::string> v(std::string("x"));
  CHECK(v.ok());
  CHECK(v.value() == "x");
  CHECK(*v == "x");
  CHECK(v->size() == 1);
  Result<int> e(Error::sys("open", "/nowhere", ENOENT));
  CHECK_FALSE(e.ok());
  CHECK(e.error().message == "open '/nowhere': No such file or directory");
  CHECK(std::string(bad_result_access_message()).empty());
}

TEST_CASE("Result: the value of an error is a reported internal error, never a wild read") {
  const Result<Pair> e(Error::msg("the pool is gone"));
  for (auto access : std::initializer_list<std::function<void()>>{
           [&] { (void)e.value().a; }, [&] { (void)(*e).a; }, [&] { (void)e->a; },
           [&] { (void)Result<Pair>(Error::msg("the pool is gone")).value().a; }}) {
    test::ChildEnd end = test::run_in_child(access);
    INFO(end.err);
    CHECK(end.signal == SIGABRT);  // std::terminate(), not SIGSEGV
    CHECK(end.err.find("zinitrd: internal error: value of a Result that holds an error (the "
                       "error: the pool is gone)") != std::string::npos);
  }
  test::ChildEnd end = test::run_in_child([] { (void)Result<int>(3).error(); });
  CHECK(end.signal == SIGABRT);
  CHECK(end.err.find("internal error: error() of a Result that holds a value") !=
        std::string::npos);
}
