// The op interface. Every backend implements these functions with these signatures in a
// namespace of its own (alexnet::cpu, alexnet::cuda); the binding picks one by device.
// Pointers are device pointers of that backend; shapes are in the parameter structs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include "params.h"

namespace alexnet {
namespace cpu {

// memory.cc: 64-byte aligned host buffers, recycled through a bounded cache of freed ones.
float* alloc(size_t count);
void release(float* data);
size_t cached_bytes();
size_t cache_limit();
void release_cached();  // frees every cached buffer

// gemm.cc: row-major C = alpha * op(A) * op(B) + beta * C, op(A): (M, K), op(B): (K, N).
void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc);
// The built-in blocked GEMM, used where no CBLAS was found (and tested everywhere).
void gemm_builtin(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                  int lda, const float* b, int ldb, float beta, float* c, int ldc);
std::string blas_name();
int blas_threads();

// conv.cc
void conv2d_forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y);
void conv2d_backward_data(const ConvParams& p, const float* dy, const float* w, float* dx);
// dw and db are overwritten; db may be null.
void conv2d_backward_filter(const ConvParams& p, const float* x, const float* dy, float* dw, float* db);

// lrn.cc
void lrn_forward(const LrnParams& p, const float* x, float* y);
void lrn_backward(const LrnParams& p, const float* x, const float* dy, float* dx);

// maxpool.cc
void maxpool_forward(const PoolParams& p, const float* x, float* y);
void maxpool_backward(const PoolParams& p, const float* x, const float* y, const float* dy, float* dx);

// linear.cc
void linear_forward(const LinearParams& p, const float* x, const float* w, const float* b, float* y);
void linear_backward_data(const LinearParams& p, const float* dy, const float* w, float* dx);
void linear_backward_params(const LinearParams& p, const float* x, const float* dy, float* dw, float* db);

// activation.cc: y may alias x, dx may alias dy.
void relu_forward(int64_t count, const float* x, float* y);
void relu_backward(int64_t count, const float* y, const float* dy, float* dx);
void tanh_forward(int64_t count, const float* x, float* y);
void tanh_backward(int64_t count, const float* y, const float* dy, float* dx);

// dropout.cc: training draws mask in {0, 1} and y = x * mask; evaluation y = x * (1 - p).
void dropout_forward_train(const DropoutParams& p, const float* x, float* y, float* mask);
void dropout_forward_eval(const DropoutParams& p, const float* x, float* y);
void dropout_backward(const DropoutParams& p, const float* dy, const float* mask, float* dx);

// softmax_xent.cc: returns the mean cross-entropy; dlogits = scale * (probs - onehot) / N.
double softmax_xent_forward(const SoftmaxXentParams& p, const float* logits, const int32_t* labels,
                            float* probs);
void softmax_xent_backward(const SoftmaxXentParams& p, const float* probs, const int32_t* labels,
                           float scale, float* dlogits);

// sgd.cc: the paper's update, in place.
void sgd_update(const SgdParams& p, float* w, const float* dw, float* v);

// random.cc
void fill_normal(const NormalParams& p, float* out);

// copy.cc
void copy(int64_t count, const float* src, float* dst);
void fill(int64_t count, float value, float* dst);

}  // namespace cpu

// What the CUDA backend reports about itself (native/cuda/device.cu or not_built.cc).
namespace cuda {
struct DeviceInfo {
  int index;
  std::string name;
  size_t total_memory, free_memory;
  int major, minor, multiprocessors;
};
struct Info {
  bool built;                 // compiled into this addon
  bool usable;                // built and at least one device answers
  std::string reason;         // why not usable
  int runtime_version;        // e.g. 13000
  int driver_version;         // 0 where there is no driver
  std::vector<DeviceInfo> devices;
};
Info info();
}  // namespace cuda

}  // namespace alexnet
