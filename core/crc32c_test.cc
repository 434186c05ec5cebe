#include "core/crc32c.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace lightrl {
namespace {

// Reference values from RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32cTest, MatchesPublishedVectors) {
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  std::vector<uint8_t> ones(32, 0xFF);
  EXPECT_EQ(Crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  std::vector<uint8_t> inc(32);
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32c(inc.data(), inc.size()), 0x46DD794Eu);
  std::string digits = "123456789";
  EXPECT_EQ(Crc32c(digits.data(), digits.size()), 0xE3069283u);
}

TEST(Crc32cTest, ExtendingInPiecesEqualsOneShot) {
  std::mt19937 rng(7);
  std::vector<uint8_t> data(1000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  uint32_t whole = Crc32c(data.data(), data.size());
  for (size_t split : {0u, 1u, 7u, 8u, 333u, 999u, 1000u}) {
    uint32_t crc = Crc32cExtend(0, data.data(), split);
    crc = Crc32cExtend(crc, data.data() + split, data.size() - split);
    EXPECT_EQ(crc, whole) << "split " << split;
  }
}

TEST(Crc32cTest, DetectsASingleFlippedBit) {
  std::vector<uint8_t> data(4096, 0x5A);
  uint32_t before = Crc32c(data.data(), data.size());
  data[2049] ^= 0x10;
  EXPECT_NE(Crc32c(data.data(), data.size()), before);
}

// Bit by bit from the polynomial, independent of the table and the instruction.
uint32_t BitwiseCrc32c(const uint8_t* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
  }
  return ~crc;
}

// Sizes around the three-lane loop's 24 KiB block, at unaligned addresses.
TEST(Crc32cTest, LongInputsMatchTheBitwiseDefinitionAndCopyExactly) {
  std::mt19937 rng(11);
  std::vector<uint8_t> data(3 * 3 * 8192 + 200);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t size : {size_t{3 * 8192 - 1}, size_t{3 * 8192}, size_t{3 * 8192 + 1},
                      size_t{2 * 3 * 8192 + 77}, size_t{3 * 3 * 8192 + 5}}) {
    for (size_t offset : {0, 3}) {
      const uint8_t* src = data.data() + offset;
      const uint32_t want = BitwiseCrc32c(src, size);
      EXPECT_EQ(Crc32c(src, size), want) << "size " << size << " offset " << offset;
      std::vector<uint8_t> copy(size + 2, 0xEE);
      EXPECT_EQ(Crc32cCopy(0, copy.data() + 1, src, size), want) << "size " << size;
      EXPECT_TRUE(std::equal(src, src + size, copy.begin() + 1)) << "size " << size;
      EXPECT_EQ(copy.front(), 0xEE);
      EXPECT_EQ(copy.back(), 0xEE);
      // Extending a copy continues a running checksum.
      const uint32_t head = Crc32c(src, 100);
      EXPECT_EQ(Crc32cCopy(head, copy.data(), src + 100, size - 100), want);
    }
  }
}

TEST(Crc32cTest, CombiningTwoChecksumsGivesTheChecksumOfTheConcatenation) {
  std::mt19937 rng(5);
  std::vector<uint8_t> data(70000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t split :
       {size_t{0}, size_t{1}, size_t{4095}, size_t{24576}, size_t{69999}, size_t{70000}}) {
    const uint32_t a = Crc32c(data.data(), split);
    const uint32_t b = Crc32c(data.data() + split, data.size() - split);
    EXPECT_EQ(Crc32cCombine(a, b, data.size() - split), Crc32c(data.data(), data.size()))
        << "split " << split;
  }
}

// Parts of 1 MiB and more: 5.5 MiB over 1, 3 and 8 threads (5 parts at most).
TEST(Crc32cTest, ParallelCopyMatchesOneThread) {
  std::mt19937 rng(6);
  std::vector<uint8_t> data((11u << 19) + 3);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  const uint32_t head = Crc32c("prefix", 6);
  const uint32_t want = Crc32cExtend(head, data.data(), data.size());
  for (int threads : {1, 3, 8}) {
    std::vector<uint8_t> copy(data.size());
    EXPECT_EQ(Crc32cCopyParallel(head, copy.data(), data.data(), data.size(), threads), want)
        << threads << " threads";
    EXPECT_EQ(copy, data) << threads << " threads";
  }
  std::vector<uint8_t> small(100, 7), small_copy(100);
  EXPECT_EQ(Crc32cCopyParallel(0, small_copy.data(), small.data(), small.size(), 4),
            Crc32c(small.data(), small.size()));
  EXPECT_EQ(small_copy, small);
}

}  // namespace
}  // namespace lightrl
