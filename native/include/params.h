// Parameter structs shared by every backend (cpu, cuda, cudnn). Layout is NCHW float32;
// weights are OIHW with I = input channels per group. The binding fills these from
// JavaScript objects that lib/ has already validated; the backends trust them.
#pragma once
#include <cstdint>

namespace alexnet {

struct ConvParams {
  int n, c, h, w;              // x:  (N, C, H, W)
  int k, kh, kw;               // w:  (K, C / groups, KH, KW); b: (K)
  int stride_h, stride_w;
  int pad_h, pad_w;            // zero padding on both sides
  int groups;                  // C and K are both divisible by groups
  int oh, ow;                  // y:  (N, K, OH, OW), OH = output_size(H, KH, stride_h, pad_h)
  bool relu;                   // forward only: y = max(0, conv(x) + b), applied where the bias is
                               // added (the backward ops ignore it: relu's backward is its own op)
};

struct LrnParams {
  int n, c, h, w;              // x, y: (N, C, H, W)
  int size;                    // window of channels: c - size/2 .. c + (size-1)/2, clipped
  float alpha, beta, k;        // y = x / (k + alpha * sum x_j^2)^beta  (alpha on the sum)
  int groups;                  // the window never crosses a group of C / groups channels
};

struct PoolParams {
  int n, c, h, w;              // x: (N, C, H, W)
  int kh, kw;                  // window
  int stride_h, stride_w;
  int pad_h, pad_w;            // padded cells never win the max
  int oh, ow;                  // y: (N, C, OH, OW), OH = output_size(H, KH, stride_h, pad_h)
};

struct LinearParams {
  int n;                       // x: (N, IN), y: (N, OUT)
  int in, out;                 // w: (OUT, IN), b: (OUT)
  bool relu;                   // forward only: y = max(0, x w^T + b), as ConvParams::relu
};

// The ReLU of a fused forward: the same expression as the relu op (activation.cc / .cu), so
// that a fused layer's output equals the unfused pair's bit for bit (NaN -> 0, -0 -> 0).
// (The emulator compiles kernels as host code, where a plain inline function serves.)
#if defined(__CUDACC__)
__host__ __device__
#endif
inline float relu_of(float v) { return v > 0.0f ? v : 0.0f; }

struct DropoutParams {
  int64_t count;               // x, y, mask: count elements
  float p;                     // probability of dropping an element
  uint64_t seed;               // Philox key
  uint64_t offset;             // Philox stream (a fresh one per call)
};

struct SoftmaxXentParams {
  int n, classes;              // logits, probs: (N, CLASSES); labels: (N) int32 in [0, CLASSES)
};

struct SgdParams {
  int64_t count;               // w, dw, v: count elements
  float lr, momentum, weight_decay;
  // v <- momentum * v - weight_decay * lr * w - lr * dw;  w <- w + v
};

struct NormalParams {
  int64_t count;               // out: count elements
  float mean, std;
  uint64_t seed, offset;
};

// The output length along one axis of a window (convolution kernel or pooling window) of
// `window` cells sliding by `stride` over `in` cells zero-padded by `pad` on both sides;
// the window must fit the padded input (in + 2 pad >= window). Its TypeScript twin is
// outputSize in lib/core/geometry.ts.
inline int output_size(int in, int window, int stride, int pad) { return (in + 2 * pad - window) / stride + 1; }

inline int64_t conv_x_size(const ConvParams& p) { return int64_t(p.n) * p.c * p.h * p.w; }
inline int64_t conv_w_size(const ConvParams& p) { return int64_t(p.k) * (p.c / p.groups) * p.kh * p.kw; }
inline int64_t conv_y_size(const ConvParams& p) { return int64_t(p.n) * p.k * p.oh * p.ow; }
inline int64_t lrn_size(const LrnParams& p) { return int64_t(p.n) * p.c * p.h * p.w; }
inline int64_t pool_x_size(const PoolParams& p) { return int64_t(p.n) * p.c * p.h * p.w; }
inline int64_t pool_y_size(const PoolParams& p) { return int64_t(p.n) * p.c * p.oh * p.ow; }

}  // namespace alexnet
