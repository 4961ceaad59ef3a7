// Fully connected layers, as native/cpu/linear.cc, on the tiled GEMM of gemm_tile.cuh:
//   forward          y (N, OUT) = x (N, IN) w^T + b   (with p.relu: max(0, that))
//   backward data    dx (N, IN) = dy (N, OUT) w (OUT, IN)
//   backward params  dw (OUT, IN) = dy^T x,  db = column sums of dy  (both overwritten)
#include "common.cuh"
#include "gemm_tile.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {
namespace {

// The forward's epilogue: the bias, and a fused ReLU (relu), on each output's whole sum
// (after split-K's partial sums are added, never per partial).
struct StoreBias {
  float* y;
  const float* bias;
  int ld;
  bool relu;
  __device__ __forceinline__ void operator()(int, int m, int n, float v) const {
    const float z = bias ? v + bias[n] : v;
    y[size_t(m) * ld + n] = relu ? relu_of(z) : z;
  }
};

struct Store {
  float* y;
  int ld;
  __device__ __forceinline__ void operator()(int, int m, int n, float v) const { y[size_t(m) * ld + n] = v; }
};

// db[o] = sum_n dy[n, o], one thread per output, rows added in order.
__global__ void column_sum_kernel(int rows, int cols, const float* dy, float* db) {
  for (int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; o < cols; o += int64_t(gridDim.x) * blockDim.x) {
    float sum = 0.0f;
    for (int n = 0; n < rows; ++n) sum += dy[size_t(n) * cols + o];
    db[o] = sum;
  }
}

}  // namespace

void linear_forward(const LinearParams& p, const float* x, const float* w, const float* b, float* y) {
  tile_gemm("linear", 1, p.n, p.out, p.in, MatrixA<false>{x, p.in}, MatrixB<true>{w, p.in}, StoreBias{y, b, p.out, p.relu});
}

void linear_backward_data(const LinearParams& p, const float* dy, const float* w, float* dx) {
  tile_gemm("linearBackwardData", 1, p.n, p.in, p.out, MatrixA<false>{dy, p.out}, MatrixB<false>{w, p.in}, Store{dx, p.in});
}

void linear_backward_params(const LinearParams& p, const float* x, const float* dy, float* dw, float* db) {
  tile_gemm("linearBackwardParams", 1, p.out, p.in, p.n, MatrixA<true>{dy, p.out}, MatrixB<false>{x, p.in}, Store{dw, p.in});
  if (db) launch("linearBackwardParams", elementwise_blocks(p.out), 256, column_sum_kernel, p.n, p.out, dy, db);
}

}  // namespace cuda
}  // namespace alexnet
