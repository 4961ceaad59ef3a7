// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
// a counter-based generator, so element i's random number depends only on (seed, offset, i)
// and the CPU and the GPU draw the same numbers whatever their threading.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define ALEXNET_HD __host__ __device__ __forceinline__
#else
#define ALEXNET_HD inline
#endif

namespace alexnet {

struct Philox4 { uint32_t v[4]; };

ALEXNET_HD uint32_t philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t product = uint64_t(a) * uint64_t(b);
  *hi = uint32_t(product >> 32);
  return uint32_t(product);
}

// counter = (block, offset), key = seed. Returns four independent 32-bit words.
ALEXNET_HD Philox4 philox4x32_10(uint64_t block, uint64_t offset, uint64_t seed) {
  uint32_t c0 = uint32_t(block), c1 = uint32_t(block >> 32);
  uint32_t c2 = uint32_t(offset), c3 = uint32_t(offset >> 32);
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = philox_mulhilo(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = philox_mulhilo(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// The 24 high bits as a float in [0, 1).
ALEXNET_HD float philox_uniform(uint32_t bits) { return float(bits >> 8) * (1.0f / 16777216.0f); }

// Element i's uniform number in [0, 1) for (seed, offset): word i % 4 of block i / 4.
ALEXNET_HD float philox_uniform_at(uint64_t i, uint64_t offset, uint64_t seed) {
  Philox4 r = philox4x32_10(i >> 2, offset, seed);
  return philox_uniform(r.v[i & 3]);
}

}  // namespace alexnet
