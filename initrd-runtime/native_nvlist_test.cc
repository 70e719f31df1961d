// native_nvlist_test.cc: natively encoded nvlists as OpenZFS's own libnvpair packs them (the
// encoding the kernel's ioctl replies use), read back; damaged streams are refused, never
// over-read.
#include "native_nvlist.h"

#include <doctest/doctest.h>

#include <string>

#include "libnvpair_for_tests.h"

using namespace zinitrd::rt;

#ifdef ZINITRD_LIBNVPAIR
namespace {

constexpr int kNative = 0;  // NV_ENCODE_NATIVE

// What ZFS_IOC_OBJSET_STATS replies for a dataset: properties as {value, source} lists, plus
// pairs of types zinitrd does not read.
std::string packed_properties() {
  auto& n = nv();
  auto* mountpoint = n.make();
  n.add_string(mountpoint, "value", "/");
  n.add_string(mountpoint, "source", "rpool/ROOT");
  auto* canmount = n.make();
  n.add_uint64(canmount, "value", 2);
  n.add_string(canmount, "source", "rpool/ROOT/debian");
  auto* a = n.make();
  n.add_uint64(a, "guid", 7);
  auto* b = n.make();
  n.add_string(b, "path", "/dev/disk/by-id/virtio-x-part1");
  nvlist* both[] = {a, b};
  const uint64_t numbers[] = {1, 2, 3};
  auto* top = n.make();
  n.add_nvlist(top, "mountpoint", mountpoint);
  n.add_boolean(top, "flag");
  n.add_uint64_array(top, "numbers", numbers, 3);
  n.add_nvlist(top, "canmount", canmount);
  n.add_nvlist_array(top, "children", both, 2);
  n.add_uint64(top, "last", 0x0123456789abcdefULL);
  std::string out = n.packed(top, kNative);
  for (auto* l : {mountpoint, canmount, a, b, top}) n.free(l);
  return out;
}

}  // namespace

TEST_CASE("a natively packed nvlist reads back: scalars, embedded lists, arrays of lists") {
  auto list = parse_native_nvlist(packed_properties());
  REQUIRE(list);
  const NvList* mountpoint = list->list("mountpoint");
  REQUIRE(mountpoint);
  CHECK(mountpoint->text("value") == "/");
  CHECK(mountpoint->text("source") == "rpool/ROOT");
  const NvList* canmount = list->list("canmount");
  REQUIRE(canmount);
  CHECK(canmount->number("value") == 2u);
  const auto* children = list->lists("children");
  REQUIRE(children);
  REQUIRE(children->size() == 2);
  CHECK((*children)[0].number("guid") == 7u);
  CHECK((*children)[1].text("path") == "/dev/disk/by-id/virtio-x-part1");
  // pairs after embedded lists are found where the embedded pairs end
  CHECK(list->number("last") == 0x0123456789abcdefULL);
  // other types keep their name and type, no value
  const NvPair* numbers = list->find("numbers");
  REQUIRE(numbers);
  CHECK(numbers->count == 3);
  CHECK(numbers->value.empty());
  CHECK(list->find("flag"));
}

TEST_CASE("a damaged native nvlist is refused, whatever byte is cut or changed") {
  const std::string good = packed_properties();
  for (size_t n = 0; n < good.size(); ++n)
    CHECK_FALSE(parse_native_nvlist(std::string_view(good.data(), n)));
  // every byte changed in turn: parsed or refused, never read past the end (ASan checks)
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x80);
    (void)parse_native_nvlist(bad);
  }
  // an XDR stream is not a native one
  auto* l = nv().make();
  nv().add_uint64(l, "x", 1);
  CHECK_FALSE(parse_native_nvlist(nv().packed(l)));
  nv().free(l);
}
#endif  // ZINITRD_LIBNVPAIR
