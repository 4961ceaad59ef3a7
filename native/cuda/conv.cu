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
// dw and db are overwritten. With p.relu the forward stores max(0, y) (a fused ReLU).
// Each operand has v1's element function (operator()) and the cursor of v2 / tf32 / 3xtf32
// (gemm_tile2.cuh): at() decodes the thread's fixed row or column once; advance() steps k
// in mixed-radix digits, (channel, kernel row, kernel column) or (image, output row, output
// column), with no division; src() is the element's address, or null in the zero padding.
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
  int khq, khm, kwq, kwm;  // kh = khq * sh + khm, kw = kwq * sw + kwm (the data gradient's cursor)

  explicit ConvShape(const ConvParams& p)
      : n(p.n), c(p.c), h(p.h), w(p.w), k(p.k), kh(p.kh), kw(p.kw), sh(p.stride_h), sw(p.stride_w), ph(p.pad_h),
        pw(p.pad_w), oh(p.oh), ow(p.ow), cg(p.c / p.groups), kg(p.k / p.groups), rs(p.kh * p.kw),
        khq(p.kh / p.stride_h), khm(p.kh % p.stride_h), kwq(p.kw / p.stride_w), kwm(p.kw % p.stride_w) {}

  // im2col cursors: the output pixel's input window, and the step of (c, r, s) digits
  struct WindowCursor {
    const float* base;  // image n, channel 0 of group g
    int iy0, ix0;       // top-left input pixel of the window (may be in the padding)
    Digits3 crs;        // (c, r, s) of k
  };
  __device__ __forceinline__ WindowCursor window(const float* x, int g, int pixel, int cell) const {
    const int ox = pixel % ow, oy = pixel / ow % oh, image = pixel / (ow * oh);
    return WindowCursor{x + (size_t(image) * c + size_t(g) * cg) * h * w, oy * sh - ph, ox * sw - pw, digits3(cell, kh, kw)};
  }
  __device__ __forceinline__ const float* window_src(const WindowCursor& q) const {
    const int iy = q.iy0 + q.crs.mid, ix = q.ix0 + q.crs.lo;
    return unsigned(iy) < unsigned(h) && unsigned(ix) < unsigned(w) ? q.base + (q.crs.hi * h + iy) * w + ix : nullptr;
  }

  // the filter gradient's cursors step k = (image, oy, ox)
  struct PixelCursor {
    const float* base;
    int r, s;      // kernel cell of the thread's column (0, 0 for dy)
    Digits3 pix;   // (image, oy, ox) of k
  };

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
  using Cursor = const float*;
  using Step = int;
  Step step(int d) const { return d; }
  __device__ __forceinline__ Cursor at(int g, int m, int kk) const { return w + (size_t(g) * s.kg + m) * s.cg * s.rs + kk; }
  __device__ __forceinline__ const float* src(Cursor c) const { return c; }
  __device__ __forceinline__ void advance(Cursor& c, Step d) const { c += d; }
};

struct ForwardColumns {  // B(g, kk = (c, r, s), col = (n, oy, ox))
  const float* x;
  ConvShape s;
  static constexpr bool kFastK = false;
  __device__ __forceinline__ float operator()(int g, int kk, int col) const { return s.im2col(x, g, kk, col); }
  using Cursor = ConvShape::WindowCursor;
  using Step = Digits3;
  Step step(int d) const { return digits3(d, s.kh, s.kw); }
  __device__ __forceinline__ Cursor at(int g, int col, int kk) const { return s.window(x, g, col, kk); }
  __device__ __forceinline__ const float* src(const Cursor& c) const { return s.window_src(c); }
  __device__ __forceinline__ void advance(Cursor& c, const Step& d) const { advance3(c.crs, d, s.kh, s.kw); }
};

// The epilogue: the bias, and a fused ReLU (relu). It sees each output once, with its whole
// sum: after split-K's partial sums are added (tile_gemm_reduce_kernel), never per partial.
struct ForwardStore {
  float* y;
  const float* b;
  ConvShape s;
  bool relu;
  __device__ __forceinline__ void operator()(int g, int m, int col, float v) const {
    const int plane = s.oh * s.ow, image = col / plane, pixel = col % plane, ch = g * s.kg + m;
    const float z = b ? v + b[ch] : v;
    y[(size_t(image) * s.k + ch) * plane + pixel] = relu ? relu_of(z) : z;
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
  struct Cursor {
    const float* p;  // w[g * kg, m, 0, 0]
    Digits3 krs;     // (out channel, r, s) of k
  };
  using Step = Digits3;
  Step step(int d) const { return digits3(d, s.kh, s.kw); }
  __device__ __forceinline__ Cursor at(int g, int m, int kk) const {
    return Cursor{w + (size_t(g) * s.kg * s.cg + m) * s.rs, digits3(kk, s.kh, s.kw)};
  }
  __device__ __forceinline__ const float* src(const Cursor& c) const {
    return c.p + size_t(c.krs.hi) * s.cg * s.rs + c.krs.mid * s.kw + c.krs.lo;
  }
  __device__ __forceinline__ void advance(Cursor& c, const Step& d) const { advance3(c.krs, d, s.kh, s.kw); }
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
  // Cursor: with ty0 = iy + pad = qy0 * stride + my0, the kernel row r = rq * stride + rm
  // reaches a dy row exactly when rm == my0, and that row is qy0 - rq; r's quotient and
  // remainder are stepped with r (and likewise for columns), so nothing divides in the loop.
  struct Cursor {
    const float* base;  // dy[image, g * kg, 0, 0]
    int qy0, my0, qx0, mx0;
    Digits3 krs;        // (out channel, r, s) of k
    int rq, rm, sq, sm; // r = rq * sh + rm, s = sq * sw + sm
  };
  struct Step {
    Digits3 d;
    int rq, rm, sq, sm;  // d.mid = rq * sh + rm, d.lo = sq * sw + sm
  };
  Step step(int d) const {
    const Digits3 x = digits3(d, s.kh, s.kw);
    return Step{x, x.mid / s.sh, x.mid % s.sh, x.lo / s.sw, x.lo % s.sw};
  }
  __device__ __forceinline__ Cursor at(int g, int col, int kk) const {
    const int ix = col % s.w, iy = col / s.w % s.h, image = col / (s.w * s.h);
    const int ty0 = iy + s.ph, tx0 = ix + s.pw;
    const Digits3 krs = digits3(kk, s.kh, s.kw);
    return Cursor{dy + (size_t(image) * s.k + size_t(g) * s.kg) * s.oh * s.ow, ty0 / s.sh, ty0 % s.sh, tx0 / s.sw,
                  tx0 % s.sw, krs, krs.mid / s.sh, krs.mid % s.sh, krs.lo / s.sw, krs.lo % s.sw};
  }
  __device__ __forceinline__ const float* src(const Cursor& c) const {
    const int oy = c.qy0 - c.rq, ox = c.qx0 - c.sq;
    return c.rm == c.my0 && c.sm == c.mx0 && unsigned(oy) < unsigned(s.oh) && unsigned(ox) < unsigned(s.ow)
               ? c.base + (c.krs.hi * s.oh + oy) * s.ow + ox
               : nullptr;
  }
  __device__ __forceinline__ void advance(Cursor& c, const Step& d) const {
    c.krs.lo += d.d.lo;
    c.sq += d.sq;
    c.sm += d.sm;
    if (c.sm >= s.sw) { c.sm -= s.sw; ++c.sq; }
    c.krs.mid += d.d.mid;
    c.rq += d.rq;
    c.rm += d.rm;
    if (c.rm >= s.sh) { c.rm -= s.sh; ++c.rq; }
    c.krs.hi += d.d.hi;
    if (c.krs.lo >= s.kw) {  // s wraps: s -= kw, r += 1
      c.krs.lo -= s.kw;
      c.sq -= s.kwq;
      c.sm -= s.kwm;
      if (c.sm < 0) { c.sm += s.sw; --c.sq; }
      ++c.krs.mid;
      if (++c.rm >= s.sh) { c.rm = 0; ++c.rq; }
    }
    if (c.krs.mid >= s.kh) {  // r wraps: r -= kh, next output channel
      c.krs.mid -= s.kh;
      c.rq -= s.khq;
      c.rm -= s.khm;
      if (c.rm < 0) { c.rm += s.sh; --c.rq; }
      ++c.krs.hi;
    }
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
  using Cursor = ConvShape::PixelCursor;
  using Step = Digits3;
  Step step(int d) const { return digits3(d, s.oh, s.ow); }
  __device__ __forceinline__ Cursor at(int g, int m, int kk) const {
    return Cursor{dy + (size_t(g) * s.kg + m) * s.oh * s.ow, 0, 0, digits3(kk, s.oh, s.ow)};
  }
  __device__ __forceinline__ const float* src(const Cursor& c) const {
    return c.base + size_t(c.pix.hi) * s.k * s.oh * s.ow + c.pix.mid * s.ow + c.pix.lo;
  }
  __device__ __forceinline__ void advance(Cursor& c, const Step& d) const { advance3(c.pix, d, s.oh, s.ow); }
};

struct FilterInputs {  // B(g, kk = (n, oy, ox), col = (c, r, s))
  const float* x;
  ConvShape s;
  static constexpr bool kFastK = true;
  __device__ __forceinline__ float operator()(int g, int kk, int col) const { return s.im2col(x, g, col, kk); }
  using Cursor = ConvShape::PixelCursor;
  using Step = Digits3;
  Step step(int d) const { return digits3(d, s.oh, s.ow); }
  __device__ __forceinline__ Cursor at(int g, int col, int kk) const {
    const int ch = col / s.rs, r = col % s.rs / s.kw, q = col % s.kw;
    return Cursor{x + (size_t(g) * s.cg + ch) * s.h * s.w, r, q, digits3(kk, s.oh, s.ow)};
  }
  __device__ __forceinline__ const float* src(const Cursor& c) const {
    const int iy = c.pix.mid * s.sh - s.ph + c.r, ix = c.pix.lo * s.sw - s.pw + c.s;
    return unsigned(iy) < unsigned(s.h) && unsigned(ix) < unsigned(s.w)
               ? c.base + size_t(c.pix.hi) * s.c * s.h * s.w + iy * s.w + ix
               : nullptr;
  }
  __device__ __forceinline__ void advance(Cursor& c, const Step& d) const { advance3(c.pix, d, s.oh, s.ow); }
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

// The same sum for the versions after v1, spread over more blocks: block (ch, part) adds
// images part, part + parts, ... (in order), and a second kernel adds the parts in order,
// so conv1's 96 channels fill more than 96 SMs and the result is still deterministic.
__global__ void bias_grad_parts_kernel(int images, int channels, int plane, int parts, const float* dy, float* partial) {
  __shared__ float part[256];
  const int ch = blockIdx.x, t = threadIdx.x;
  float sum = 0.0f;
  for (int image = blockIdx.y; image < images; image += parts) {
    const float* p = dy + (size_t(image) * channels + ch) * plane;
    for (int i = t; i < plane; i += 256) sum += p[i];
  }
  part[t] = sum;
  __syncthreads();
  for (int half = 128; half > 0; half /= 2) {
    if (t < half) part[t] += part[t + half];
    __syncthreads();
  }
  if (t == 0) partial[size_t(ch) * parts + blockIdx.y] = part[0];
}

__global__ void bias_grad_finish_kernel(int channels, int parts, const float* partial, float* db) {
  for (int ch = blockIdx.x * blockDim.x + threadIdx.x; ch < channels; ch += gridDim.x * blockDim.x) {
    float sum = 0.0f;
    for (int q = 0; q < parts; ++q) sum += partial[size_t(ch) * parts + q];
    db[ch] = sum;
  }
}

void bias_grad(const ConvParams& p, const float* dy, float* db) {
  const int plane = p.oh * p.ow;
  if (gemm_version() == GemmVersion::v1) {
    launch("conv2dBackwardFilter", dim3(unsigned(p.k)), 256, bias_grad_kernel, p.n, p.k, plane, dy, db);
    return;
  }
  // about 4 blocks per SM in all, at most one part per image
  const int wanted = (4 * multiprocessors() + p.k - 1) / p.k;
  const int parts = wanted < p.n ? (wanted < 1 ? 1 : wanted) : p.n;
  Scratch partial(size_t(p.k) * parts);
  launch("conv2dBackwardFilter", dim3(unsigned(p.k), unsigned(parts)), 256, bias_grad_parts_kernel, p.n, p.k, plane,
         parts, dy, partial.get());
  launch("conv2dBackwardFilter", elementwise_blocks(p.k), 256, bias_grad_finish_kernel, p.k, parts,
         static_cast<const float*>(partial.get()), db);
}

}  // namespace

void conv2d_forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y) {
  const ConvShape s(p);
  tile_gemm("conv2d", p.groups, s.kg, p.n * p.oh * p.ow, s.cg * s.rs, ForwardWeights{w, s}, ForwardColumns{x, s},
            ForwardStore{y, b, s, p.relu});
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
  if (db) bias_grad(p, dy, db);
}

}  // namespace cuda
}  // namespace alexnet
