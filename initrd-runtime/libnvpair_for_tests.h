// libnvpair_for_tests.h: the host's OpenZFS libnvpair (zfsutils brings it), for the tests that
// check zinitrd's nvlist readers and writers against it. Only when ZINITRD_LIBNVPAIR is defined
// (initrd-runtime/CMakeLists.txt links it when found); no libnvpair headers are needed.
#pragma once
#ifdef ZINITRD_LIBNVPAIR

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <string>

// The few libnvpair entry points used (no libnvpair headers are needed; nvlist_t is opaque).
extern "C" {
struct nvlist;
int nvlist_alloc(nvlist**, unsigned, int);
void nvlist_free(nvlist*);
int nvlist_add_uint64(nvlist*, const char*, uint64_t);
int nvlist_add_string(nvlist*, const char*, const char*);
int nvlist_add_boolean(nvlist*, const char*);
int nvlist_add_nvlist(nvlist*, const char*, nvlist*);
int nvlist_add_nvlist_array(nvlist*, const char*, nvlist* const*, unsigned);
int nvlist_add_uint64_array(nvlist*, const char*, const uint64_t*, unsigned);
int nvlist_pack(nvlist*, char**, size_t*, int, int);
int nvlist_unpack(char*, size_t, nvlist**, int);
int nvlist_lookup_uint64(nvlist*, const char*, uint64_t*);
}

struct LibNvpair {
  using nvl = nvlist;
  decltype(&nvlist_free) free = nvlist_free;
  decltype(&nvlist_add_uint64) add_uint64 = nvlist_add_uint64;
  decltype(&nvlist_add_string) add_string = nvlist_add_string;
  decltype(&nvlist_add_boolean) add_boolean = nvlist_add_boolean;
  decltype(&nvlist_add_nvlist) add_nvlist = nvlist_add_nvlist;
  decltype(&nvlist_add_nvlist_array) add_nvlist_array = nvlist_add_nvlist_array;
  decltype(&nvlist_add_uint64_array) add_uint64_array = nvlist_add_uint64_array;
  decltype(&nvlist_unpack) unpack = nvlist_unpack;
  decltype(&nvlist_lookup_uint64) lookup_uint64 = nvlist_lookup_uint64;

  nvl* make() {
    nvl* l = nullptr;
    REQUIRE(nvlist_alloc(&l, 1 /* NV_UNIQUE_NAME */, 0) == 0);
    return l;
  }
  /// L packed as the kernel's labels (NV_ENCODE_XDR, 1) or its ioctl replies (NV_ENCODE_NATIVE, 0).
  std::string packed(nvl* l, int encoding = 1 /* NV_ENCODE_XDR */) {
    char* buf = nullptr;
    size_t len = 0;
    REQUIRE(nvlist_pack(l, &buf, &len, encoding, 0) == 0);
    std::string out(buf, len);
    std::free(buf);
    return out;
  }
};

inline LibNvpair& nv() {
  static LibNvpair lib;
  return lib;
}

#endif  // ZINITRD_LIBNVPAIR
