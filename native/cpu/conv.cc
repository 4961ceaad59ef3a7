// Convolution with stride, zero padding and groups, through im2col + GEMM, one image at a
// time (the GEMM is the BLAS's, threaded by it; im2col / col2im are threaded here).
//   x: (N, C, H, W)   w: (K, C/G, KH, KW)   b: (K)   y: (N, K, OH, OW)
// For image n and group g: col_g (C/G*KH*KW, OH*OW) = im2col(x_n, channels of g), and
//   y_ng (K/G, OH*OW)  = w_g (K/G, C/G*KH*KW) * col_g
//   col_g              = w_g^T * dy_ng,  dx_n += col2im(col_g)
//   dw_g              += dy_ng * col_g^T, db = sum over n, oh, ow of dy
#include <algorithm>
#include <vector>
#include "backend.h"
#include "parallel.h"

namespace alexnet {
namespace cpu {
namespace {

// x_c: (C/G, H, W) for one image and one group -> col: (C/G*KH*KW, OH*OW)
void im2col(const ConvParams& p, const float* x_c, float* col) {
  const int cg = p.c / p.groups, plane = p.oh * p.ow;
  parallel_for(int64_t(cg) * p.kh * p.kw, [&](int64_t row) {
    const int kx = int(row % p.kw), ky = int((row / p.kw) % p.kh), ci = int(row / (p.kw * p.kh));
    const float* xc = x_c + size_t(ci) * p.h * p.w;
    float* out = col + size_t(row) * plane;
    for (int oy = 0; oy < p.oh; ++oy) {
      const int iy = oy * p.stride_h - p.pad_h + ky;
      float* o = out + size_t(oy) * p.ow;
      if (iy < 0 || iy >= p.h) { std::fill(o, o + p.ow, 0.0f); continue; }
      const float* xr = xc + size_t(iy) * p.w;
      for (int ox = 0; ox < p.ow; ++ox) {
        const int ix = ox * p.stride_w - p.pad_w + kx;
        o[ox] = (ix >= 0 && ix < p.w) ? xr[ix] : 0.0f;
      }
    }
  }, 4);
}

// col: (C/G*KH*KW, OH*OW) -> dx_c: (C/G, H, W), accumulated. One thread per input channel,
// so no two threads touch the same element of dx.
void col2im(const ConvParams& p, const float* col, float* dx_c) {
  const int cg = p.c / p.groups, plane = p.oh * p.ow;
  parallel_for(cg, [&](int64_t ci) {
    float* dxc = dx_c + size_t(ci) * p.h * p.w;
    for (int ky = 0; ky < p.kh; ++ky)
      for (int kx = 0; kx < p.kw; ++kx) {
        const float* in = col + ((size_t(ci) * p.kh + ky) * p.kw + kx) * plane;
        for (int oy = 0; oy < p.oh; ++oy) {
          const int iy = oy * p.stride_h - p.pad_h + ky;
          if (iy < 0 || iy >= p.h) continue;
          float* dr = dxc + size_t(iy) * p.w;
          const float* ir = in + size_t(oy) * p.ow;
          for (int ox = 0; ox < p.ow; ++ox) {
            const int ix = ox * p.stride_w - p.pad_w + kx;
            if (ix >= 0 && ix < p.w) dr[ix] += ir[ox];
          }
        }
      }
  });
}

// A 1x1 convolution with stride 1 and no padding needs no im2col: col_g is x_ng itself.
bool is_pointwise(const ConvParams& p) {
  return p.kh == 1 && p.kw == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
}

}  // namespace

void conv2d_forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y) {
  const int cg = p.c / p.groups, kg = p.k / p.groups;
  const int rows = cg * p.kh * p.kw, plane = p.oh * p.ow;
  const bool pointwise = is_pointwise(p);
  std::vector<float> col(pointwise ? 0 : size_t(rows) * plane);
  for (int n = 0; n < p.n; ++n)
    for (int g = 0; g < p.groups; ++g) {
      const float* xg = x + (size_t(n) * p.c + size_t(g) * cg) * p.h * p.w;
      if (!pointwise) im2col(p, xg, col.data());
      const float* cols = pointwise ? xg : col.data();
      float* yg = y + (size_t(n) * p.k + size_t(g) * kg) * plane;
      gemm(false, false, kg, plane, rows, 1.0f, w + size_t(g) * kg * rows, rows, cols, plane, 0.0f, yg, plane);
    }
  if (b) {
    parallel_for(int64_t(p.n) * p.k, [&](int64_t nk) {
      const float bias = b[nk % p.k];
      float* yp = y + size_t(nk) * plane;
      for (int i = 0; i < plane; ++i) yp[i] += bias;
    });
  }
}

void conv2d_backward_data(const ConvParams& p, const float* dy, const float* w, float* dx) {
  const int cg = p.c / p.groups, kg = p.k / p.groups;
  const int rows = cg * p.kh * p.kw, plane = p.oh * p.ow;
  const bool pointwise = is_pointwise(p);
  std::vector<float> col(pointwise ? 0 : size_t(rows) * plane);
  if (!pointwise) fill(conv_x_size(p), 0.0f, dx);
  for (int n = 0; n < p.n; ++n)
    for (int g = 0; g < p.groups; ++g) {
      const float* dyg = dy + (size_t(n) * p.k + size_t(g) * kg) * plane;
      float* dxg = dx + (size_t(n) * p.c + size_t(g) * cg) * p.h * p.w;
      // col_g (rows, plane) = w_g^T (rows, K/G) * dy_ng (K/G, plane)
      float* cols = pointwise ? dxg : col.data();
      gemm(true, false, rows, plane, kg, 1.0f, w + size_t(g) * kg * rows, rows, dyg, plane, 0.0f, cols, plane);
      if (!pointwise) col2im(p, col.data(), dxg);
    }
}

void conv2d_backward_filter(const ConvParams& p, const float* x, const float* dy, float* dw, float* db) {
  const int cg = p.c / p.groups, kg = p.k / p.groups;
  const int rows = cg * p.kh * p.kw, plane = p.oh * p.ow;
  const bool pointwise = is_pointwise(p);
  std::vector<float> col(pointwise ? 0 : size_t(rows) * plane);
  for (int n = 0; n < p.n; ++n)
    for (int g = 0; g < p.groups; ++g) {
      const float* xg = x + (size_t(n) * p.c + size_t(g) * cg) * p.h * p.w;
      if (!pointwise) im2col(p, xg, col.data());
      const float* cols = pointwise ? xg : col.data();
      const float* dyg = dy + (size_t(n) * p.k + size_t(g) * kg) * plane;
      // dw_g (K/G, rows) += dy_ng (K/G, plane) * col_g^T (plane, rows)
      gemm(false, true, kg, rows, plane, 1.0f, dyg, plane, cols, plane, n == 0 ? 0.0f : 1.0f,
           dw + size_t(g) * kg * rows, rows);
    }
  if (p.n == 0) fill(conv_w_size(p), 0.0f, dw);
  if (db) {
    parallel_for(p.k, [&](int64_t k) {
      double sum = 0.0;
      for (int n = 0; n < p.n; ++n) {
        const float* d = dy + (size_t(n) * p.k + size_t(k)) * plane;
        for (int i = 0; i < plane; ++i) sum += d[i];
      }
      db[k] = float(sum);
    });
  }
}

}  // namespace cpu
}  // namespace alexnet
