// SHA-256 against the FIPS 180-2 / NIST example vectors and, around the 64-byte block and
// 56-byte padding boundaries, against GNU coreutils' sha256sum.
#include "catapult/data/sha256.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "catapult/core/error.hpp"
#include "fixtures.hpp"

namespace catapult::data {
namespace {

TEST(Sha256, StandardVectors) {
  EXPECT_EQ(to_hex(sha256(std::string_view(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      to_hex(sha256(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(to_hex(sha256(std::string_view(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqkl"
                "mnopqrlmnopqrsmnopqrstnopqrstu"))),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, OneMillionA) {
  const std::string a(1000000, 'a');
  EXPECT_EQ(to_hex(sha256(std::string_view(a))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // The same message fed in uneven pieces that straddle block boundaries.
  Sha256 h;
  std::size_t fed = 0;
  for (std::size_t piece = 1; fed < a.size(); piece = piece * 7 % 1000 + 1) {
    const std::size_t n = std::min(piece, a.size() - fed);
    h.update(std::string_view(a).substr(fed, n));
    fed += n;
  }
  EXPECT_EQ(to_hex(h.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
  // n repetitions of 'x'; digests from `head -c n /dev/zero | tr '\0' x | sha256sum`.
  const std::vector<std::pair<std::size_t, std::string>> cases = {
      {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
      {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
      {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
      {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
      {65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"},
      {119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
      {120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"},
      {127, "70156a14adbabf98cff3a71c7084b417abf057a8efd27329ca36b7202c87d81f"},
      {128, "24da1b81d0b16df6428eee73c69fcb2a93c76bc6df706f0c6670fe6bfe800464"},
      {129, "0ec9eb33e74510bcdd1f2ea55206e82f21649c5c2becbf2b433eb475b34c01bd"},
  };
  for (const auto& [n, expected] : cases) {
    const std::string msg(n, 'x');
    EXPECT_EQ(to_hex(sha256(std::string_view(msg))), expected) << "n = " << n;
    Sha256 h;  // byte by byte
    for (const char c : msg) h.update(std::string_view(&c, 1));
    EXPECT_EQ(to_hex(h.finish()), expected) << "n = " << n << ", byte by byte";
  }
}

TEST(Sha256, ResetStartsANewMessage) {
  Sha256 h;
  h.update(std::string_view("something else"));
  h.reset();
  h.update(std::string_view("abc"));
  EXPECT_EQ(to_hex(h.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, FileMatchesInMemoryAndMissingFileIsIoError) {
  const test::TempDir dir;
  const auto p = test::write_file(dir / "abc.txt", {'a', 'b', 'c'});
  EXPECT_EQ(to_hex(sha256_file(p)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  test::expect_error<IoError>([&] { (void)sha256_file(dir / "absent"); }, {"absent"});
}

}  // namespace
}  // namespace catapult::data
