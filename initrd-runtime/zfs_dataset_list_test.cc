// zfs_dataset_list_test.cc: what zfs list would print, from the properties the kernel replies
// with (libzfs's rules for inherited and default mountpoints, canmount, encryption).
#include "zfs_dataset_list.h"

#include <doctest/doctest.h>

using namespace zinitrd::rt;

namespace {

NvList prop(const std::string& value, const std::string& source) {
  NvList p;
  p.set_text("value", value);
  p.set_text("source", source);
  return p;
}

NvList number_prop(uint64_t value) {
  NvList p;
  p.set_number("value", value);
  return p;
}

}  // namespace

TEST_CASE("a mountpoint never set is / and the dataset's name") {
  CHECK(dataset_info("rpool/ROOT/debian", NvList{}).mountpoint == "/rpool/ROOT/debian");
  CHECK(dataset_info("rpool", NvList{}).mountpoint == "/rpool");
}

TEST_CASE("an inherited mountpoint gets the path below the dataset it comes from") {
  NvList props;
  props.set_list("mountpoint", prop("/", "rpool/ROOT/debian"));
  CHECK(dataset_info("rpool/ROOT/debian", props).mountpoint == "/");
  CHECK(dataset_info("rpool/ROOT/debian/usr", props).mountpoint == "/usr");
  CHECK(dataset_info("rpool/ROOT/debian/var/log", props).mountpoint == "/var/log");
  props.set_list("mountpoint", prop("/mnt/x", "rpool/data"));
  CHECK(dataset_info("rpool/data", props).mountpoint == "/mnt/x");
  CHECK(dataset_info("rpool/data/home", props).mountpoint == "/mnt/x/home");
  // a received value is the dataset's own
  props.set_list("mountpoint", prop("/srv", "$recvd"));
  CHECK(dataset_info("rpool/data/srv", props).mountpoint == "/srv");
}

TEST_CASE("legacy and none mountpoints are kept as they are") {
  NvList props;
  props.set_list("mountpoint", prop("legacy", "rpool/ROOT"));
  CHECK(dataset_info("rpool/ROOT/debian", props).mountpoint == "legacy");
  props.set_list("mountpoint", prop("none", "rpool"));
  CHECK(dataset_info("rpool/ROOT", props).mountpoint == "none");
}

TEST_CASE("canmount: on unless set, off and noauto by their index") {
  NvList props;
  CHECK(dataset_info("rpool/a", props).canmount == "on");
  props.set_list("canmount", number_prop(0));
  CHECK(dataset_info("rpool/a", props).canmount == "off");
  props.set_list("canmount", number_prop(2));
  CHECK(dataset_info("rpool/a", props).canmount == "noauto");
  props.set_list("canmount", number_prop(9));  // unknown: the default
  CHECK(dataset_info("rpool/a", props).canmount == "on");
}

TEST_CASE("encryption: the root and key status as zfs list prints them, - when not encrypted") {
  DatasetInfo plain = dataset_info("rpool/a", NvList{});
  CHECK(plain.encryptionroot == "-");
  CHECK(plain.keystatus == "-");
  NvList props;
  NvList root;
  root.set_text("value", "rpool/enc");
  props.set_list("encryptionroot", root);
  props.set_list("keystatus", number_prop(1));
  DatasetInfo locked = dataset_info("rpool/enc/home", props);
  CHECK(locked.encryptionroot == "rpool/enc");
  CHECK(locked.keystatus == "unavailable");
  props.set_list("keystatus", number_prop(2));
  CHECK(dataset_info("rpool/enc/home", props).keystatus == "available");
}

TEST_CASE(
    "a dataset that cannot be listed (no /dev/zfs, no such pool) is an error the caller falls back "
    "on") {
  auto r = list_filesystems("zinitrd-no-such-pool/ROOT");
  CHECK_FALSE(r);
}
