// CRC32C (Castagnoli), the checksum of weight images and chunks on the wire.
// Uses the SSE4.2 crc32 instruction when the CPU has it (three interleaved chains for
// inputs of 24 KiB and more), a table otherwise; both give the same result. Thread-safe.
#ifndef LIGHTRL_CORE_CRC32C_H_
#define LIGHTRL_CORE_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace lightrl {

// Extends `crc` (the result of a previous call, or 0 to start) over `size` bytes at `data`.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);

// Copies `size` bytes from src to dst (which must not overlap) and returns
// Crc32cExtend(crc, src, size), reading src once.
uint32_t Crc32cCopy(uint32_t crc, void* dst, const void* src, size_t size);

// The CRC32C of A‖B from crc_a = Crc32c(A), crc_b = Crc32c(B) and size_b = |B|.
uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, size_t size_b);

// Crc32cCopy over up to `threads` contiguous parts of at least 1 MiB at once, on threads it
// starts and joins, their checksums combined.
uint32_t Crc32cCopyParallel(uint32_t crc, void* dst, const void* src, size_t size, int threads);

inline uint32_t Crc32c(const void* data, size_t size) { return Crc32cExtend(0, data, size); }

}  // namespace lightrl

#endif  // LIGHTRL_CORE_CRC32C_H_
