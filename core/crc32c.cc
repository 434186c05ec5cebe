#include "core/crc32c.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <thread>
#include <vector>

namespace lightrl {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78;  // Reflected Castagnoli polynomial.

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
    table[i] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

uint32_t ExtendPortable(uint32_t crc, const uint8_t* p, size_t size) {
  for (size_t i = 0; i < size; ++i) crc = kTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

// The hardware loop runs three independent crc32 chains over three lanes of kLane bytes and
// joins them: with R(c, data) the register after `data` (no inversions), R(c, A‖B) =
// Shift(R(c, A)) ⊕ R(0, B), where Shift(c) = R(c, kLane zero bytes) is linear in c and is
// applied through four 256-entry tables. One chain is bound by the instruction's latency;
// three keep it busy every cycle.
constexpr size_t kLane = 8192;

struct LaneShiftTable {
  uint32_t t[4][256];
};

const LaneShiftTable& LaneShift() {
  static const LaneShiftTable table = [] {
    LaneShiftTable s{};
    const std::vector<uint8_t> zeros(kLane, 0);
    uint32_t basis[32];
    for (int i = 0; i < 32; ++i) basis[i] = ExtendPortable(1u << i, zeros.data(), kLane);
    for (int k = 0; k < 4; ++k) {
      for (int b = 0; b < 256; ++b) {
        uint32_t v = 0;
        for (int j = 0; j < 8; ++j) {
          if ((b >> j) & 1) v ^= basis[8 * k + j];
        }
        s.t[k][b] = v;
      }
    }
    return s;
  }();
  return table;
}

uint32_t ShiftLane(uint32_t c) {
  const LaneShiftTable& s = LaneShift();
  return s.t[0][c & 0xFF] ^ s.t[1][(c >> 8) & 0xFF] ^ s.t[2][(c >> 16) & 0xFF] ^ s.t[3][c >> 24];
}

#if defined(__x86_64__)
// Extends `crc` over src; when kCopy, also copies src to dst.
template <bool kCopy>
__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t crc, uint8_t* dst,
                                                          const uint8_t* p, size_t size) {
  uint64_t c = crc;
  const auto word = [](const uint8_t* at) {
    uint64_t w;
    std::memcpy(&w, at, 8);
    return w;
  };
  for (; size >= 3 * kLane; size -= 3 * kLane) {
    uint64_t a = c, b = 0, d = 0;
    for (size_t i = 0; i < kLane; i += 8) {
      const uint64_t w0 = word(p + i), w1 = word(p + kLane + i), w2 = word(p + 2 * kLane + i);
      a = __builtin_ia32_crc32di(a, w0);
      b = __builtin_ia32_crc32di(b, w1);
      d = __builtin_ia32_crc32di(d, w2);
      if constexpr (kCopy) {
        std::memcpy(dst + i, &w0, 8);
        std::memcpy(dst + kLane + i, &w1, 8);
        std::memcpy(dst + 2 * kLane + i, &w2, 8);
      }
    }
    c = ShiftLane(ShiftLane(static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b)) ^
        static_cast<uint32_t>(d);
    p += 3 * kLane;
    if constexpr (kCopy) dst += 3 * kLane;
  }
  for (; size >= 8; size -= 8, p += 8) {
    const uint64_t w = word(p);
    c = __builtin_ia32_crc32di(c, w);
    if constexpr (kCopy) {
      std::memcpy(dst, &w, 8);
      dst += 8;
    }
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; size > 0; --size, ++p) {
    c32 = __builtin_ia32_crc32qi(c32, *p);
    if constexpr (kCopy) *dst++ = *p;
  }
  return c32;
}

bool HasHardwareCrc() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

// a·b mod P for polynomials in the reflected form (bit 31 holds x⁰).
uint32_t MultiplyModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (int i = 0; i < 32; ++i) {
    if (a & (0x80000000u >> i)) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPolynomial : b >> 1;  // b·x
  }
  return product;
}

// x^(8·bytes) mod P: what `bytes` zero bytes do to the register.
uint32_t ZeroBytesOperator(size_t bytes) {
  uint32_t result = 0x80000000u, power = 0x00800000u;  // x⁰ and x⁸
  for (; bytes > 0; bytes >>= 1) {
    if (bytes & 1) result = MultiplyModP(result, power);
    power = MultiplyModP(power, power);
  }
  return result;
}

}  // namespace

uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, size_t size_b) {
  return MultiplyModP(crc_a, ZeroBytesOperator(size_b)) ^ crc_b;
}

uint32_t Crc32cCopyParallel(uint32_t crc, void* dst, const void* src, size_t size, int threads) {
  constexpr size_t kMinPart = size_t{1} << 20;
  const size_t parts = std::clamp<size_t>(size / kMinPart, 1, std::max(threads, 1));
  const size_t part = (size + parts - 1) / parts;
  std::vector<uint32_t> sums(parts);
  std::vector<std::thread> workers;
  const auto run = [&](size_t i) {
    const size_t begin = i * part, end = std::min(size, begin + part);
    sums[i] = Crc32cCopy(0, static_cast<uint8_t*>(dst) + begin,
                         static_cast<const uint8_t*>(src) + begin, end - begin);
  };
  for (size_t i = 1; i < parts; ++i) workers.emplace_back(run, i);
  run(0);
  for (std::thread& w : workers) w.join();
  for (size_t i = 0; i < parts; ++i) {
    crc = Crc32cCombine(crc, sums[i], std::min(size, (i + 1) * part) - i * part);
  }
  return crc;
}

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
#if defined(__x86_64__)
  if (HasHardwareCrc()) return ~ExtendHardware<false>(crc, nullptr, p, size);
#endif
  return ~ExtendPortable(crc, p, size);
}

uint32_t Crc32cCopy(uint32_t crc, void* dst, const void* src, size_t size) {
  const auto* p = static_cast<const uint8_t*>(src);
#if defined(__x86_64__)
  if (HasHardwareCrc()) return ~ExtendHardware<true>(~crc, static_cast<uint8_t*>(dst), p, size);
#endif
  std::memcpy(dst, src, size);
  return ~ExtendPortable(~crc, p, size);
}

}  // namespace lightrl
