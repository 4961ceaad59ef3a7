// Unit checks of the emulator's new instructions (native/cuda/mma.cuh): TF32 rounding,
// warp-collective mma.sync m16n8k8 with the PTX fragment layout, the warp barrier's
// misuse report, and cp.async's copy-at-wait semantics. Built with the emulator
// (`npm run build:emulator` -> build-emulator/alexnet_emu_selftest) and run by
// `npm run test:emulator`. Prints one line per check; exits 1 if any fails.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../mma.cuh"

using alexnet::cuda::bits_to_float;
using alexnet::cuda::float_to_bits;
using alexnet::cuda::tf32_rna;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%s  %s\n", ok ? "pass" : "FAIL", what);
  if (!ok) ++failures;
}

float tf32(float x) { return bits_to_float(tf32_rna(x)); }

void tf32_rounding() {
  const float one = 1.0f, ulp = std::ldexp(1.0f, -10);  // a TF32 ulp at 1
  check(tf32(one) == one, "tf32: 1 is exact");
  check(tf32(one + ulp) == one + ulp, "tf32: 1 + 2^-10 is exact");
  check(tf32(one + ulp / 2) == one + ulp, "tf32: a tie (1 + 2^-11) rounds away from zero, up");
  check(tf32(-(one + ulp / 2)) == -(one + ulp), "tf32: a negative tie rounds away from zero, down");
  check(tf32(one + ulp / 2 - std::ldexp(1.0f, -23)) == one, "tf32: just below a tie rounds down");
  check(tf32(one + 3 * ulp / 2) == one + 2 * ulp, "tf32: ties away, not to even (1 + 3*2^-11 -> 1 + 2^-9)");
  check(tf32(2.0f - std::ldexp(1.0f, -23)) == 2.0f, "tf32: rounding carries into the exponent");
  check(std::isinf(tf32(3.4028235e38f)), "tf32: the largest float rounds to infinity");
  check(std::isnan(tf32(std::nanf(""))), "tf32: NaN stays NaN");
  check(std::isinf(tf32(INFINITY)) && tf32(INFINITY) > 0, "tf32: infinity stays");
  check((tf32_rna(0.1f) & 0x1fffu) == 0, "tf32: the low 13 bits are zero");
  // TF32 keeps FP32's exponent range but only 10 mantissa bits, also below 2^-126
  check(tf32(std::ldexp(1.0f, -136)) == std::ldexp(1.0f, -136), "tf32: the smallest TF32 subnormal (2^-136) is exact");
  check(tf32(std::ldexp(1.0f, -140)) == 0.0f, "tf32: 2^-140, below TF32's subnormal step, rounds to 0");
}

// Runs one m16n8k8 on one warp of `threads` (a multiple of 32; every warp computes the same
// product) and compares every lane's D with the loop product of the TF32-truncated inputs.
bool one_mma(const float (&A)[16][8], const float (&B)[8][8], const float (&C)[16][8], bool round_inputs,
             int threads) {
  bool ok = true;
  alexnet_emu::run_grid(dim3(1), dim3(unsigned(threads)), [&] {
    const unsigned lane = alexnet_emu::lane_id(), g = lane / 4, t = lane % 4;
    auto in = [&](float v) { return round_inputs ? tf32_rna(v) : float_to_bits(v); };
    uint32_t a[1][4] = {{in(A[g][t]), in(A[g + 8][t]), in(A[g][t + 4]), in(A[g + 8][t + 4])}};
    uint32_t b[1][2] = {{in(B[t][g]), in(B[t + 4][g])}};
    float acc[1][1][4] = {{{C[g][2 * t], C[g][2 * t + 1], C[g + 8][2 * t], C[g + 8][2 * t + 1]}}};
    alexnet::cuda::mma_m16n8k8_tf32<1, 1>(acc, a, b);
    for (int i = 0; i < 4; ++i) {
      const unsigned row = g + 8 * (i / 2), col = 2 * t + i % 2;
      double sum = C[row][col];
      for (int k = 0; k < 8; ++k) {
        auto cut = [&](float v) { return double(bits_to_float(in(v) & 0xffffe000u)); };
        sum += cut(A[row][k]) * cut(B[k][col]);
      }
      if (acc[0][0][i] != float(sum)) ok = false;
    }
  });
  return ok && cudaGetLastError() == cudaSuccess;
}

void mma() {
  float A[16][8], B[8][8], C[16][8];
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 8; ++k) A[i][k] = float((i * 8 + k) % 13 - 6);  // small integers: exact
  for (int k = 0; k < 8; ++k)
    for (int j = 0; j < 8; ++j) B[k][j] = float((k * 5 + j * 3) % 11 - 5);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) C[i][j] = float(i - j);
  check(one_mma(A, B, C, true, 32), "mma m16n8k8: integer matrices, every lane's D fragment exact (1 warp)");
  check(one_mma(A, B, C, true, 96), "mma m16n8k8: the same on each of 3 warps of a block");
  // distinct non-TF32 values: the low 13 bits of each input must be ignored, not rounded
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 8; ++k) A[i][k] = 1.0f + float(i * 8 + k) * std::ldexp(1.0f, -16);
  for (int k = 0; k < 8; ++k)
    for (int j = 0; j < 8; ++j) B[k][j] = -0.5f + float(k * 8 + j) * std::ldexp(1.0f, -17);
  check(one_mma(A, B, C, false, 32), "mma m16n8k8: raw f32 inputs are truncated to TF32 (low 13 bits ignored)");
  check(one_mma(A, B, C, true, 32), "mma m16n8k8: inputs rounded by cvt.rna first");

  // a 2x3 batch of tiles equals six single products
  bool same = true;
  alexnet_emu::run_grid(dim3(1), dim3(64), [&] {
    const unsigned lane = alexnet_emu::lane_id();
    uint32_t a[2][4], b[3][2];
    for (int i = 0; i < 2; ++i)
      for (int w = 0; w < 4; ++w) a[i][w] = tf32_rna(float(int(lane * 7 + i * 3 + w) % 9 - 4) * 0.25f);
    for (int j = 0; j < 3; ++j)
      for (int w = 0; w < 2; ++w) b[j][w] = tf32_rna(float(int(lane * 5 + j + w * 2) % 7 - 3) * 0.5f);
    float batch[2][3][4] = {}, single[2][3][4] = {};
    alexnet::cuda::mma_m16n8k8_tf32<2, 3>(batch, a, b);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) {
        float acc[1][1][4] = {};
        const uint32_t ai[1][4] = {{a[i][0], a[i][1], a[i][2], a[i][3]}};
        const uint32_t bj[1][2] = {{b[j][0], b[j][1]}};
        alexnet::cuda::mma_m16n8k8_tf32<1, 1>(acc, ai, bj);
        for (int c = 0; c < 4; ++c) single[i][j][c] = acc[0][0][c];
      }
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        for (int c = 0; c < 4; ++c) same = same && batch[i][j][c] == single[i][j][c];
  });
  check(same && cudaGetLastError() == cudaSuccess, "mma m16n8k8: a 2x3 batch of tiles equals six single mma");

  // half a warp at the collective: reported, not hung
  alexnet_emu::run_grid(dim3(1), dim3(32), [&] {
    if (alexnet_emu::lane_id() >= 16) return;
    float acc[1][1][4] = {};
    const uint32_t a[1][4] = {}, b[1][2] = {};
    alexnet::cuda::mma_m16n8k8_tf32<1, 1>(acc, a, b);
  });
  const cudaError_t err = cudaGetLastError();
  check(err == cudaErrorLaunchFailure, "mma m16n8k8: reached by 16 of 32 lanes is a launch failure");
}

void cp_async() {
  std::vector<float> global(64);
  for (int i = 0; i < 64; ++i) global[size_t(i)] = float(i + 1);
  bool stale_before_wait = true, visible_after = true, zero_fill = true, groups = true;
  alexnet_emu::run_grid(dim3(2), dim3(64), [&] {
    __shared__ float s[2][64];
    const unsigned i = threadIdx.x;
    s[0][i] = -1.0f;
    s[1][i] = -1.0f;
    __syncthreads();
    alexnet::cuda::cp_async_f32(&s[0][i], i % 8 == 7 ? nullptr : &global[i]);
    alexnet::cuda::cp_async_commit();
    alexnet::cuda::cp_async_f32(&s[1][i], &global[63 - i]);
    alexnet::cuda::cp_async_commit();
    if (i % 8 != 7 && s[0][i] != -1.0f) stale_before_wait = false;
    if (i % 8 == 7 && s[0][i] != 0.0f) zero_fill = false;  // a null source stores 0 at once
    alexnet::cuda::cp_async_wait<1>();  // the first group only
    if (i % 8 != 7 && s[0][i] != global[i]) groups = false;
    if (s[1][i] != -1.0f) groups = false;
    alexnet::cuda::cp_async_wait<0>();
    __syncthreads();
    const unsigned j = (i + 1) % 64;  // another thread's copies, after the barrier
    if (s[0][j] != (j % 8 == 7 ? 0.0f : global[j]) || s[1][j] != global[63 - j]) visible_after = false;
  });
  check(cudaGetLastError() == cudaSuccess, "cp.async: the launch succeeds");
  check(stale_before_wait, "cp.async: shared memory is unchanged until the thread waits");
  check(zero_fill, "cp.async: a null source (zero padding) writes 0");
  check(groups, "cp.async: wait_group 1 completes the older group and leaves the newer pending");
  check(visible_after, "cp.async: after wait_group 0 and __syncthreads every thread sees every copy");
}

}  // namespace

int main() {
  tf32_rounding();
  mma();
  cp_async();
  std::printf("emulator self-test: %s (%d failed)\n", failures ? "FAILED" : "passed", failures);
  return failures ? 1 : 0;
}
