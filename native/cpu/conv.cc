// Convolution with stride, zero padding and groups, through im2col + GEMM. Images are taken
// in chunks so that each GEMM is large: for a chunk of B images and group g,
//   col_g (C/G*KH*KW, B*OH*OW)  = im2col of the B images' channels of g (image i in columns
//                                 i*OH*OW .. (i+1)*OH*OW - 1)
//   Y     (K/G, B*OH*OW)        = w_g (K/G, C/G*KH*KW) * col_g, then scattered into y
//   col_g                       = w_g^T * DY (DY gathered from dy like Y), col2im into dx
//   dw_g (K/G, C/G*KH*KW)      += DY * col_g^T;  db = sum over n, oh, ow of dy
// Planes of at least kDirectPlane outputs take one image per GEMM instead (wide enough alone),
// reading and writing x, y and dy in place: no gather or scatter, and columns that stay in
// cache (so does a batch of one image).
// Strided ones (AlexNet conv1: 11x11, stride 4) take the columns transposed on that path,
//   row_g (OH*OW, C/G*KH*KW)  = one row per output pixel, its window's KW-long runs of x
//   Y^T = row_g * w_g^T (transposed into y with the bias);  dw_g += DY * row_g
// since a window's row of taps is contiguous in x where im2col's rows are strided gathers
// (conv1 at batch 32: 2.6 ms against 11 ms for the gathers, the GEMMs as fast either way).
// Stride-1 3x3 and 5x5 layers take Winograd's algorithm instead (winograd.cc) for all three
// passes (the bias gradient is always summed here).
// The forward's bias and fused ReLU (p.relu) are the GEMM's epilogue (gemm_bias_relu: as each
// tile of the product is stored, in the packed kernel; one pass after the BLAS's GEMM).
// The GEMMs are gemm()'s (gemm.cc: our packed kernel or the BLAS, threaded inside); im2col,
// im2row, col2im and the scatters are threaded here.
//   x: (N, C, H, W)   w: (K, C/G, KH, KW)   b: (K)   y: (N, K, OH, OW)
#include <algorithm>
#include <cstring>
#include <vector>
#include "cpu.h"
#include "parallel.h"

namespace alexnet {
namespace cpu {
namespace {

// Floats of im2col buffer per chunk: large enough for big GEMMs, small enough for caches of
// memory (AlexNet conv1 at batch 128 would need 140 M floats for the whole batch).
constexpr int64_t kColBudget = int64_t(8) << 20;
// Output planes at least this large take one image per GEMM in the forward pass (AlexNet:
// conv1's 55x55 and conv2's 27x27; the 13x13 layers are batched into wider GEMMs).
constexpr int kDirectPlane = 512;

struct Geometry {
  int cg, kg, rows, plane, chunk;
};

Geometry geometry(const ConvParams& p) {
  Geometry g;
  g.cg = p.c / p.groups;
  g.kg = p.k / p.groups;
  g.rows = g.cg * p.kh * p.kw;
  g.plane = p.oh * p.ow;
  g.chunk = int(std::max<int64_t>(1, std::min<int64_t>(p.n, kColBudget / (int64_t(g.rows) * g.plane))));
  return g;
}

// Images n0 .. n0+b-1, channels of group `group` -> col (rows, b*plane).
void im2col(const ConvParams& p, const Geometry& g, const float* x, int n0, int b, int group, float* col) {
  const int64_t width = int64_t(b) * g.plane;
  parallel_for(int64_t(g.rows) * b, [&](int64_t task) {
    const int i = int(task % b);
    const int row = int(task / b);
    const int kx = row % p.kw, ky = (row / p.kw) % p.kh, ci = row / (p.kw * p.kh);
    const float* xc = x + ((size_t(n0 + i) * p.c + size_t(group) * g.cg + ci) * p.h) * p.w;
    float* out = col + size_t(row) * width + size_t(i) * g.plane;
    for (int oy = 0; oy < p.oh; ++oy) {
      const int iy = oy * p.stride_h - p.pad_h + ky;
      float* o = out + size_t(oy) * p.ow;
      if (iy < 0 || iy >= p.h) {
        std::fill(o, o + p.ow, 0.0f);
        continue;
      }
      const float* xr = xc + size_t(iy) * p.w;
      if (p.stride_w == 1) {  // ix = ox - pad + kx: a contiguous run between zero edges
        const int lo = std::min(p.ow, std::max(0, p.pad_w - kx)), hi = std::max(lo, std::min(p.ow, p.w + p.pad_w - kx));
        std::fill(o, o + lo, 0.0f);
        std::copy(xr + lo - p.pad_w + kx, xr + hi - p.pad_w + kx, o + lo);
        std::fill(o + hi, o + p.ow, 0.0f);
        continue;
      }
      for (int ox = 0; ox < p.ow; ++ox) {
        const int ix = ox * p.stride_w - p.pad_w + kx;
        o[ox] = (ix >= 0 && ix < p.w) ? xr[ix] : 0.0f;
      }
    }
  }, 4);
}

// Copies n floats, n >= 1, in fixed-size pieces the compiler turns into single vector moves
// (the last piece overlaps the one before it), where a loop or memcpy of a runtime length
// costs a call or a scalar tail per run (measured: 1.5x to 2x slower im2row at conv1).
inline void copy_run(float* __restrict out, const float* __restrict in, int n) {
  if (n >= 8) {
    for (int j = 0; j + 8 < n; j += 8) std::memcpy(out + j, in + j, 8 * sizeof(float));
    std::memcpy(out + n - 8, in + n - 8, 8 * sizeof(float));
  } else if (n >= 4) {
    std::memcpy(out, in, 4 * sizeof(float));
    std::memcpy(out + n - 4, in + n - 4, 4 * sizeof(float));
  } else {
    for (int j = 0; j < n; ++j) out[j] = in[j];
  }
}

// Image n, channels of group `group` -> row (plane, ld): row p = oy*OW + ox holds the window of
// output pixel p, (ci, ky, kx) at ci*KH*KW + ky*KW + kx, zeros where it overhangs the padding;
// columns rows .. ld-1 are left alone (the bias's ones). Threaded over pixels. KW_ > 0 fixes
// the kernel's width at compile time (AlexNet's 11), so that its runs are a few fixed moves.
template <int KW_>
void im2row_kw(const ConvParams& p, const Geometry& g, const float* x, int n, int group, float* row, int ld) {
  const int kw = KW_ > 0 ? KW_ : p.kw;
  const float* xg = x + (size_t(n) * p.c + size_t(group) * g.cg) * p.h * p.w;
  parallel_for(g.plane, [&](int64_t pixel) {
    const int oy = int(pixel / p.ow), ox = int(pixel % p.ow);
    const int iy0 = oy * p.stride_h - p.pad_h, ix0 = ox * p.stride_w - p.pad_w;
    // the window's rows and columns inside x: ky in [ky0, ky1), kx in [kx0, kx1)
    const int ky0 = std::min(p.kh, std::max(0, -iy0)), ky1 = std::max(ky0, std::min(p.kh, p.h - iy0));
    const int kx0 = std::min(kw, std::max(0, -ix0)), kx1 = std::max(kx0, std::min(kw, p.w - ix0));
    float* o = row + size_t(pixel) * ld;
    for (int ci = 0; ci < g.cg; ++ci, o += size_t(p.kh) * kw) {
      const float* xc = xg + size_t(ci) * p.h * p.w;
      std::fill(o, o + size_t(ky0) * kw, 0.0f);
      std::fill(o + size_t(ky1) * kw, o + size_t(p.kh) * kw, 0.0f);
      if (kx0 == 0 && kx1 == kw) {  // interior: whole runs
        for (int ky = ky0; ky < ky1; ++ky) copy_run(o + ky * kw, xc + size_t(iy0 + ky) * p.w + ix0, kw);
        continue;
      }
      for (int ky = ky0; ky < ky1; ++ky) {  // left or right edge: zeros around a shorter run
        float* r = o + ky * kw;
        const float* xr = xc + size_t(iy0 + ky) * p.w + ix0;
        std::fill(r, r + kx0, 0.0f);
        std::copy(xr + kx0, xr + kx1, r + kx0);
        std::fill(r + kx1, r + kw, 0.0f);
      }
    }
  }, 64);
}

void im2row(const ConvParams& p, const Geometry& g, const float* x, int n, int group, float* row, int ld) {
  if (p.kw == 11) im2row_kw<11>(p, g, x, n, group, row, ld);
  else im2row_kw<0>(p, g, x, n, group, row, ld);
}

// Whether the one-image-per-GEMM path takes pixel rows (im2row) rather than im2col's columns.
bool by_rows(const ConvParams& p) { return p.stride_w > 1; }

// col (rows, b*plane) -> dx of images n0 .. n0+b-1, group `group`, accumulated. One task per
// (image, input channel): no two tasks touch the same element of dx.
void col2im(const ConvParams& p, const Geometry& g, const float* col, int n0, int b, int group, float* dx) {
  const int64_t width = int64_t(b) * g.plane;
  parallel_for(int64_t(b) * g.cg, [&](int64_t task) {
    const int i = int(task / g.cg), ci = int(task % g.cg);
    float* dxc = dx + ((size_t(n0 + i) * p.c + size_t(group) * g.cg + ci) * p.h) * p.w;
    for (int ky = 0; ky < p.kh; ++ky)
      for (int kx = 0; kx < p.kw; ++kx) {
        const float* in = col + ((size_t(ci) * p.kh + ky) * p.kw + kx) * width + size_t(i) * g.plane;
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

// Between y's layout (N, K, plane) and a chunk's GEMM layout (K/G, b*plane) for one group.
void scatter(const ConvParams& p, const Geometry& g, const float* chunk, int n0, int b, int group, float* y) {
  parallel_for(int64_t(b) * g.kg, [&](int64_t task) {
    const int i = int(task / g.kg), k = int(task % g.kg);
    std::copy_n(chunk + (size_t(k) * b + i) * g.plane, g.plane, y + (size_t(n0 + i) * p.k + size_t(group) * g.kg + k) * g.plane);
  });
}

// y (kg, plane) = T^T + b, then max(0, .) where relu; T (plane, kg). In 32 x 32 blocks, so
// that both sides are read and written in whole cache lines.
void transpose_bias_relu(const float* t, int plane, int kg, const float* b, bool relu, float* y) {
  constexpr int kBlock = 32;
  const int kblocks = (kg + kBlock - 1) / kBlock, pblocks = (plane + kBlock - 1) / kBlock;
  parallel_for(int64_t(kblocks) * pblocks, [&](int64_t task) {
    const int k0 = int(task % kblocks) * kBlock, p0 = int(task / kblocks) * kBlock;
    const int k1 = std::min(kg, k0 + kBlock), p1 = std::min(plane, p0 + kBlock);
    for (int k = k0; k < k1; ++k) {
      const float bias = b ? b[k] : 0.0f;
      float* out = y + size_t(k) * plane;
      for (int i = p0; i < p1; ++i) {
        const float v = t[size_t(i) * kg + k] + bias;
        out[i] = relu ? relu_of(v) : v;
      }
    }
  });
}

void gather(const ConvParams& p, const Geometry& g, const float* y, int n0, int b, int group, float* chunk) {
  parallel_for(int64_t(b) * g.kg, [&](int64_t task) {
    const int i = int(task / g.kg), k = int(task % g.kg);
    std::copy_n(y + (size_t(n0 + i) * p.k + size_t(group) * g.kg + k) * g.plane, g.plane, chunk + (size_t(k) * b + i) * g.plane);
  });
}

}  // namespace

// y = conv(x, w) + b, or with p.relu max(0, conv(x, w) + b)
void conv2d_forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y) {
  if (winograd_forward(p, x, w, b, y)) return;
  const Geometry g = geometry(p);
  const bool relu = p.relu;
  // group g's weights and biases
  auto wg = [&](int group) { return w + size_t(group) * g.kg * g.rows; };
  auto bg = [&](int group) { return b ? b + size_t(group) * g.kg : nullptr; };
  if (g.plane >= kDirectPlane || p.n == 1) {
    // Large planes, or one image: one image per GEMM, written straight into y, so the
    // columns stay small and there is nothing to scatter.
    Scratch col(size_t(g.rows) * g.plane), t(by_rows(p) ? size_t(g.plane) * g.kg : 0);
    for (int n = 0; n < p.n; ++n)
      for (int group = 0; group < p.groups; ++group) {
        float* yg = y + (size_t(n) * p.k + size_t(group) * g.kg) * g.plane;
        if (by_rows(p)) {
          // T (plane, K/G) = row (plane, rows) * w_g^T, then y_(n,g) = T^T + b_g. As y = w_g row^T
          // the GEMM's B would be the pixel rows, packed by a transposing gather (at conv1,
          // batch 8, that gather took longer than the multiplication); as T they are its A,
          // which the packed kernel reads where it lies (only K/G = 96 columns: 3 panels).
          im2row(p, g, x, n, group, col.data, g.rows);
          gemm(false, true, g.plane, g.kg, g.rows, 1.0f, col.data, g.rows, wg(group), g.rows, 0.0f, t.data, g.kg);
          transpose_bias_relu(t.data, g.plane, g.kg, bg(group), relu, yg);
        } else {
          im2col(p, g, x, n, 1, group, col.data);
          gemm_bias_relu(false, false, g.kg, g.plane, g.rows, wg(group), g.rows, col.data, g.plane, bg(group), relu, yg, g.plane);
        }
      }
    return;
  }
  Scratch col(size_t(g.rows) * g.chunk * g.plane), out(size_t(g.kg) * g.chunk * g.plane);
  for (int n0 = 0; n0 < p.n; n0 += g.chunk) {
    const int nb = std::min(g.chunk, p.n - n0), width = nb * g.plane;
    for (int group = 0; group < p.groups; ++group) {
      im2col(p, g, x, n0, nb, group, col.data);
      gemm_bias_relu(false, false, g.kg, width, g.rows, wg(group), g.rows, col.data, width, bg(group), relu, out.data, width);
      scatter(p, g, out.data, n0, nb, group, y);
    }
  }
}

void conv2d_backward_data(const ConvParams& p, const float* dy, const float* w, float* dx) {
  if (winograd_backward_data(p, dy, w, dx)) return;
  const Geometry g = geometry(p);
  fill(conv_x_size(p), 0.0f, dx);
  if (g.plane >= kDirectPlane) {
    // one image per GEMM: dy_(n,g) (K/G, OH*OW) is already the GEMM's operand, no gather
    Scratch col(size_t(g.rows) * g.plane);
    for (int n = 0; n < p.n; ++n)
      for (int group = 0; group < p.groups; ++group) {
        const float* dyg = dy + (size_t(n) * p.k + size_t(group) * g.kg) * g.plane;
        gemm(true, false, g.rows, g.plane, g.kg, 1.0f, w + size_t(group) * g.kg * g.rows, g.rows, dyg, g.plane, 0.0f, col.data, g.plane);
        col2im(p, g, col.data, n, 1, group, dx);
      }
    return;
  }
  Scratch col(size_t(g.rows) * g.chunk * g.plane), d(size_t(g.kg) * g.chunk * g.plane);
  for (int n0 = 0; n0 < p.n; n0 += g.chunk) {
    const int nb = std::min(g.chunk, p.n - n0), width = nb * g.plane;
    for (int group = 0; group < p.groups; ++group) {
      gather(p, g, dy, n0, nb, group, d.data);
      // col (rows, width) = w_g^T (rows, K/G) * DY (K/G, width)
      gemm(true, false, g.rows, width, g.kg, 1.0f, w + size_t(group) * g.kg * g.rows, g.rows, d.data, width, 0.0f, col.data, width);
      col2im(p, g, col.data, n0, nb, group, dx);
    }
  }
}

void conv2d_backward_filter(const ConvParams& p, const float* x, const float* dy, float* dw, float* db) {
  const Geometry g = geometry(p);
  if (g.plane >= kDirectPlane && by_rows(p)) {
    // one image per GEMM, pixel rows, the bias's gradient in the same GEMM as a last column:
    //   [dw_g | db_g] (K/G, rows+1) (+)= dy_(n,g) (K/G, plane) [row | 1] (plane, rows+1)
    // into a scratch accumulator, split into dw and db at the end (saves a pass over dy).
    const int ld = g.rows + (db ? 1 : 0);
    Scratch row(size_t(g.plane) * ld), acc(db ? size_t(p.k) * ld : 0);
    if (db)
      for (int i = 0; i < g.plane; ++i) row.data[size_t(i) * ld + g.rows] = 1.0f;
    for (int n = 0; n < p.n; ++n)
      for (int group = 0; group < p.groups; ++group) {
        const float* dyg = dy + (size_t(n) * p.k + size_t(group) * g.kg) * g.plane;
        float* out = db ? acc.data + size_t(group) * g.kg * ld : dw + size_t(group) * g.kg * g.rows;
        im2row(p, g, x, n, group, row.data, ld);
        gemm(false, false, g.kg, ld, g.plane, 1.0f, dyg, g.plane, row.data, ld, n == 0 ? 0.0f : 1.0f, out, ld);
      }
    if (db)
      for (int k = 0; k < p.k; ++k) {
        std::copy_n(acc.data + size_t(k) * ld, g.rows, dw + size_t(k) * g.rows);
        db[k] = acc.data[size_t(k) * ld + g.rows];
      }
    return;
  }
  if (winograd_backward_filter(p, x, dy, dw)) {
    // the filter gradient by Winograd's transforms; the bias gradient below as always
  } else if (g.plane >= kDirectPlane) {
    // one image per GEMM: dw_g (K/G, rows) += dy_(n,g) (K/G, OH*OW) col^T, dy read in place
    Scratch col(size_t(g.rows) * g.plane);
    for (int n = 0; n < p.n; ++n)
      for (int group = 0; group < p.groups; ++group) {
        im2col(p, g, x, n, 1, group, col.data);
        const float* dyg = dy + (size_t(n) * p.k + size_t(group) * g.kg) * g.plane;
        gemm(false, true, g.kg, g.rows, g.plane, 1.0f, dyg, g.plane, col.data, g.plane, n == 0 ? 0.0f : 1.0f,
             dw + size_t(group) * g.kg * g.rows, g.rows);
      }
  } else {
    Scratch col(size_t(g.rows) * g.chunk * g.plane), d(size_t(g.kg) * g.chunk * g.plane);
    for (int n0 = 0; n0 < p.n; n0 += g.chunk) {
      const int nb = std::min(g.chunk, p.n - n0), width = nb * g.plane;
      for (int group = 0; group < p.groups; ++group) {
        im2col(p, g, x, n0, nb, group, col.data);
        gather(p, g, dy, n0, nb, group, d.data);
        // dw_g (K/G, rows) (+)= DY (K/G, width) * col^T (width, rows)
        gemm(false, true, g.kg, g.rows, width, 1.0f, d.data, width, col.data, width, n0 == 0 ? 0.0f : 1.0f,
             dw + size_t(group) * g.kg * g.rows, g.rows);
      }
    }
  }
  if (db) {
    parallel_for(p.k, [&](int64_t k) {
      double sum = 0.0;
      for (int n = 0; n < p.n; ++n) {
        const float* d = dy + (size_t(n) * p.k + size_t(k)) * g.plane;
        for (int i = 0; i < g.plane; ++i) sum += d[i];
      }
      db[k] = float(sum);
    });
  }
}

}  // namespace cpu
}  // namespace alexnet
