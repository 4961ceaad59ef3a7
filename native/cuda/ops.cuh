// The CUDA backend's ops: the same functions as alexnet::cpu (backend.h), one file each,
// listed in the Ops table of backend.cu. Pointers are memory of the current device.
#pragma once
#include "params.h"

namespace alexnet {
namespace cuda {

void conv2d_forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y);
void conv2d_backward_data(const ConvParams& p, const float* dy, const float* w, float* dx);
void conv2d_backward_filter(const ConvParams& p, const float* x, const float* dy, float* dw, float* db);
void lrn_forward(const LrnParams& p, const float* x, float* y);
void lrn_backward(const LrnParams& p, const float* x, const float* dy, float* dx);
void maxpool_forward(const PoolParams& p, const float* x, float* y);
void maxpool_backward(const PoolParams& p, const float* x, const float* y, const float* dy, float* dx);
void linear_forward(const LinearParams& p, const float* x, const float* w, const float* b, float* y);
void linear_backward_data(const LinearParams& p, const float* dy, const float* w, float* dx);
void linear_backward_params(const LinearParams& p, const float* x, const float* dy, float* dw, float* db);
void relu_forward(int64_t count, const float* x, float* y);
void relu_backward(int64_t count, const float* y, const float* dy, float* dx);
void tanh_forward(int64_t count, const float* x, float* y);
void tanh_backward(int64_t count, const float* y, const float* dy, float* dx);
void dropout_forward_train(const DropoutParams& p, const float* x, float* y, float* mask);
void dropout_forward_eval(const DropoutParams& p, const float* x, float* y);
void dropout_backward(const DropoutParams& p, const float* dy, const float* mask, float* dx);
// labels are host memory; the loss comes back to the host, so this one waits for the stream
double softmax_xent_forward(const SoftmaxXentParams& p, const float* logits, const int32_t* labels, float* probs);
void softmax_xent_backward(const SoftmaxXentParams& p, const float* probs, const int32_t* labels, float scale,
                           float* dlogits);
void sgd_update(const SgdParams& p, float* w, const float* dw, float* v);
void fill_normal(const NormalParams& p, float* out);
void copy(int64_t count, const float* src, float* dst);
void fill(int64_t count, float value, float* dst);
void add(int64_t count, const float* a, const float* b, float* out);
void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
          int ldb, float beta, float* c, int ldc);

}  // namespace cuda
}  // namespace alexnet
