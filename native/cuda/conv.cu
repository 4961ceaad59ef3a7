// Convolution with stride, zero padding and groups, as native/cpu/conv.cc, by implicit GEMM
// on the tiled kernel of gemm_tile.cuh (the im2col matrix is never stored: each tile load
// computes which input pixel it stands for). Per group g, with RS = KH * KW:
//   forward          y[n, k, p]   = sum_{c, r, s} w[k, c, r, s] x[n, c, p*stride - pad + (r, s)] + b[k]
//                    GEMM (Kg) x (N * OH * OW) x (Cg * RS), A = weights, B = im2col(x)
//   backward data    dx[n, c, q]  = sum_{k, r, s} w[k, c, r, s] dy[n, k, (q + pad - (r, s)) / stride]
//                    GEMM (Cg) x (N * H * W) x (Kg * RS), B gathers dy where the division is exact
//   backward filter  dw[k, c, r, s] = sum_{n, p} dy[n, k, p] x[n, c, p*stride - pad + (r, s)]
//                    GEMM (Kg) x (Cg * RS) x (N * OH * OW), split over the long K dimension
//   db[k] = sum_{n, p} dy[n, k, p]
// dw and db are overwritten.
#include "common.cuh"
#include "gemm_tile.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {
namespace {

// Everything the loaders need, by value (it travels as a kernel argument).
struct ConvShape {
  int n, c, h, w, k, kh, kw, sh, sw, ph, pw, oh, ow;
  int cg, kg, rs;  // channels per group in and out, kernel cells

  explicit ConvShape(const ConvParams& p)
      : n(p.n), c(p.c), h(p.h), w(p.w), k(p.k), kh(p.kh), kw(p.kw), sh(p.stride_h), sw(p.stride_w), ph(p.pad_h),
        pw(p.pad_w), oh(p.oh), ow(p.ow), cg(p.c / p.groups), kg(p.k / p.groups), rs(p.kh * p.kw) {}

  // One element of group g's im2col matrix: row `cell` = (c, r, s) of the kernel, column
  // `pixel` = (n, oy, ox) of the output; the input it stands for, 0 in the padding.
  __device__ __forceinline__ float im2col(const float* x, int g, int cell, int pixel) const {
    const int ch = cell / rs, r = cell % rs / kw, q = cell % kw;
    const int ox = pixel % ow, oy = pixel / ow % oh, image = pixel / (ow * oh);
    const int iy = oy * sh - ph + r, ix = ox * sw - pw + q;
    if (iy < 0 || iy >= h || ix < 0 || ix >= w) return 0.0f;
    return x[((size_t(image) * c + g * cg + ch) * h + iy) * w + ix];
  }
};

// ---- forward ----
struct ForwardWeights {  // A(g, m = out channel, kk = (c, r, s))
  const float* w;
  ConvShape s;
  static constexpr bool kFastK = true;
  __device__ __forceinline__ float operator()(int g, int m, int kk) const {
    return w[(size_t(g) * s.kg + m) * s.cg * s.rs + kk];
  }
};

struct ForwardColumns {  // B(g, kk = (c, r, s), col = (n, oy, ox))
  const float* x;
  ConvShape s;
  static constexpr bool kFastK = false;
  __device__ __forceinline__ float operator()(int g, int kk, int col) const { return s.im2col(x, g, kk, col); }
};

struct ForwardStore {
  float* y;
  const float* b;
  ConvShape s;
  __device__ __forceinline__ void operator()(int g, int m, int col, float v) const {
    const int plane = s.oh * s.ow, image = col / plane, pixel = col % plane, ch = g * s.kg + m;
    y[(size_t(image) * s.k + ch) * plane + pixel] = b ? v + b[ch] : v;
  }
};

// ---- backward data ----
struct DataWeights {  // A(g, m = input channel, kk = (k, r, s))
  const float* w;
  ConvShape s;
  static constexpr bool kFastK = true;
  __device__ __forceinline__ float operator()(int g, int m, int kk) const {
    const int out = kk / s.rs, cell = kk % s.rs;
    return w[((size_t(g) * s.kg + out) * s.cg + m) * s.rs + cell];
  }
};

struct DataColumns {  // B(g, kk = (k, r, s), col = (n, iy, ix)): the dy that (r, s) maps onto (iy, ix)
  const float* dy;
  ConvShape s;
  static constexpr bool kFastK = false;
  __device__ __forceinline__ float operator()(int g, int kk, int col) const {
    const int out = kk / s.rs, r = kk % s.rs / s.kw, q = kk % s.kw;
    const int ix = col % s.w, iy = col / s.w % s.h, image = col / (s.w * s.h);
    const int ty = iy + s.ph - r, tx = ix + s.pw - q;
    if (ty < 0 || tx < 0 || ty % s.sh || tx % s.sw) return 0.0f;
    const int oy = ty / s.sh, ox = tx / s.sw;
    if (oy >= s.oh || ox >= s.ow) return 0.0f;
    return dy[((size_t(image) * s.k + g * s.kg + out) * s.oh + oy) * s.ow + ox];
  }
};

struct DataStore {
  float* dx;
  ConvShape s;
  __device__ __forceinline__ void operator()(int g, int m, int col, float v) const {
    const int plane = s.h * s.w, image = col / plane, pixel = col % plane;
    dx[(size_t(image) * s.c + g * s.cg + m) * plane + pixel] = v;
  }
};

// ---- backward filter ----
struct FilterGradients {  // A(g, m = out channel, kk = (n, oy, ox))
  const float* dy;
  ConvShape s;
  static constexpr bool kFastK = true;
  __device__ __forceinline__ float operator()(int g, int m, int kk) const {
    const int plane = s.oh * s.ow, image = kk / plane, pixel = kk % plane;
    return dy[(size_t(image) * s.k + g * s.kg + m) * plane + pixel];
  }
};

struct FilterInputs {  // B(g, kk = (n, oy, ox), col = (c, r, s))
  const float* x;
  ConvShape s;
  static constexpr bool kFastK = true;
  __device__ __forceinline__ float operator()(int g, int kk, int col) const { return s.im2col(x, g, col, kk); }
};

struct FilterStore {
  float* dw;
  ConvShape s;
  __device__ __forceinline__ void operator()(int g, int m, int col, float v) const {
    dw[(size_t(g) * s.kg + m) * s.cg * s.rs + col] = v;
  }
};

// db[k] = sum over images and pixels of dy[n, k, :], one block per channel, fixed order.
__global__ void bias_grad_kernel(int images, int channels, int plane, const float* dy, float* db) {
  __shared__ float part[256];
  const int ch = blockIdx.x, t = threadIdx.x;
  float sum = 0.0f;
  for (int image = 0; image < images; ++image) {
    const float* p = dy + (size_t(image) * channels + ch) * plane;
    for (int i = t; i < plane; i += 256) sum += p[i];
  }
  part[t] = sum;
  __syncthreads();
  for (int half = 128; half > 0; half /= 2) {
    if (t < half) part[t] += part[t + half];
    __syncthreads();
  }
  if (t == 0) db[ch] = part[0];
}

}  // namespace

void conv2d_forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y) {
  const ConvShape s(p);
  tile_gemm("conv2d", p.groups, s.kg, p.n * p.oh * p.ow, s.cg * s.rs, ForwardWeights{w, s}, ForwardColumns{x, s},
            ForwardStore{y, b, s});
}

void conv2d_backward_data(const ConvParams& p, const float* dy, const float* w, float* dx) {
  const ConvShape s(p);
  tile_gemm("conv2dBackwardData", p.groups, s.cg, p.n * p.h * p.w, s.kg * s.rs, DataWeights{w, s},
            DataColumns{dy, s}, DataStore{dx, s});
}

void conv2d_backward_filter(const ConvParams& p, const float* x, const float* dy, float* dw, float* db) {
  const ConvShape s(p);
  tile_gemm("conv2dBackwardFilter", p.groups, s.kg, s.cg * s.rs, p.n * p.oh * p.ow, FilterGradients{dy, s},
            FilterInputs{x, s}, FilterStore{dw, s});
  if (db) launch("conv2dBackwardFilter", dim3(unsigned(p.k)), 256, bias_grad_kernel, p.n, p.k, p.oh * p.ow, dy, db);
}

}  // namespace cuda
}  // namespace alexnet
