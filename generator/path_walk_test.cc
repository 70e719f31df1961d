// path_walk_test.cc: the one symlink walk, on an in-memory tree (RootFs and ImageTree test it on
// disk and in an image).
#include "path_walk.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <map>

#include "test_support.h"

using namespace zinitrd::gen;

namespace {

// A tree of symlinks ("->target"), files ("file") and directories (anything else).
zinitrd::Result<PathNode> in(const std::map<std::string, std::string>& tree, const std::string& p) {
  auto it = tree.find(p);
  if (it == tree.end()) return PathNode{PathNode::Kind::kMissing, {}, ENOENT};
  if (it->second.starts_with("->"))
    return PathNode{PathNode::Kind::kSymlink, it->second.substr(2), 0};
  if (it->second == "file") return PathNode{PathNode::Kind::kOther, {}, 0};
  return PathNode{};
}

}  // namespace

TEST_CASE("walk_path: links spliced in, absolute ones restart at the root, .. clamped") {
  std::map<std::string, std::string> tree = {{"/usr", "dir"},
                                             {"/usr/lib", "dir"},
                                             {"/usr/lib/x.so.1", "file"},
                                             {"/lib", "->usr/lib"},
                                             {"/usr/lib/x.so", "->/lib/x.so.1"},
                                             {"/up", "->../../../usr"},
                                             {"/loop", "->/loop"},
                                             {"/etc", "dir"}};
  auto look = [&](const std::string& p) { return in(tree, p); };
  auto r = walk_path("/lib/x.so", look);
  REQUIRE(r.ok());
  CHECK(r->path == "/usr/lib/x.so.1");
  CHECK(r->links ==
        std::vector<std::pair<std::string, std::string>>{
            {"/lib", "usr/lib"}, {"/usr/lib/x.so", "/lib/x.so.1"}, {"/lib", "usr/lib"}});
  CHECK(walk_path("/up/lib/./x.so.1", look)->path == "/usr/lib/x.so.1");
  // Not following the last link: the link itself.
  r = walk_path("/lib/x.so", look, /*follow_last=*/false);
  CHECK(r->path == "/usr/lib/x.so");
  CHECK(walk_path("/loop", look).error().errnum == ELOOP);
  CHECK(walk_path("/nothere/x", look).error().errnum == ENOENT);
  CHECK(walk_path("/usr/lib/x.so.1/y", look).error().errnum == ENOTDIR);
  CHECK(walk_path("/", look)->path == "/");
}
