#include "luks_header.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "test_support.h"

using namespace zinitrd;

namespace {

std::string fixture(const char* name) {
  std::string bytes = test::slurp(std::string(ZINITRD_SOURCE_DIR "/common/testdata/") + name);
  REQUIRE_FALSE(bytes.empty());
  return bytes;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("a LUKS2 header made by cryptsetup: UUID, label, ciphers from the JSON area") {
  auto h = parse_luks_header(fixture("luks2-header.bin"));
  REQUIRE(h);
  CHECK(h->version == 2);
  CHECK(h->uuid == "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d");
  CHECK(h->label == "zroot-a");
  CHECK(h->ciphers == std::vector<std::string>{"aes-xts-plain64"});
  CHECK(has(h->hashes, "sha256"));
}

TEST_CASE("a LUKS1 header made by cryptsetup: UUID, cipher name and mode, hash") {
  auto h = parse_luks_header(fixture("luks1-header.bin"));
  REQUIRE(h);
  CHECK(h->version == 1);
  CHECK(h->uuid == "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9");
  CHECK(h->label.empty());
  CHECK(h->ciphers == std::vector<std::string>{"aes-cbc-essiv:sha256"});
  CHECK(h->hashes == std::vector<std::string>{"sha1"});
}

TEST_CASE("only the binary header is needed to recognise a device and read its UUID") {
  std::string bytes = fixture("luks2-header.bin").substr(0, 4096);
  auto h = parse_luks_header(bytes);
  REQUIRE(h);
  CHECK(h->uuid == "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d");
  CHECK(h->ciphers.empty());  // the JSON area was not read
}

TEST_CASE("what is not a LUKS header is refused") {
  std::string good = fixture("luks2-header.bin");
  CHECK_FALSE(parse_luks_header(std::string(4096, '\0')));
  CHECK_FALSE(parse_luks_header(good.substr(0, 100)));  // too short for any header
  std::string secondary = good;
  secondary.replace(0, 4, "SKUL");  // LUKS2's secondary header: never at a device's start
  CHECK_FALSE(parse_luks_header(secondary));
  std::string v3 = good;
  v3[7] = 3;
  CHECK_FALSE(parse_luks_header(v3));
  std::string garbage_uuid = good;
  garbage_uuid.replace(168, 4, "zz\n!");
  CHECK_FALSE(parse_luks_header(garbage_uuid));
  // A LUKS2 header whose JSON area is cut short still gives what it has, without overrun.
  auto cut = parse_luks_header(good.substr(0, 4096 + 200));
  REQUIRE(cut);
  CHECK(cut->uuid == "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d");
}

TEST_CASE("the kernel modules of a cipher: cipher, mode template, ESSIV hash") {
  auto xts = luks_cipher_modules("aes-xts-plain64");
  CHECK(has(xts, "aesni_intel"));
  CHECK(has(xts, "aes_generic"));
  CHECK(has(xts, "xts"));
  CHECK(has(xts, "ecb"));  // xts(aes) is built on ecb(aes)
  CHECK_FALSE(has(xts, "essiv"));

  auto essiv = luks_cipher_modules("aes-cbc-essiv:sha256");
  CHECK(has(essiv, "cbc"));
  CHECK(has(essiv, "essiv"));
  CHECK(has(essiv, "sha256_generic"));
  CHECK(has(essiv, "sha256_ssse3"));

  auto capi = luks_cipher_modules("capi:xts(serpent)-plain64");
  CHECK(has(capi, "xts"));
  CHECK(has(capi, "serpent_generic"));
  CHECK(has(capi, "serpent_avx2"));

  auto adiantum = luks_cipher_modules("xchacha12,aes-adiantum-plain64");
  CHECK(has(adiantum, "adiantum"));
  CHECK(has(adiantum, "chacha_generic"));
  CHECK(has(adiantum, "nhpoly1305"));
  CHECK(has(adiantum, "aes_generic"));

  CHECK(luks_cipher_modules("").empty());
}
