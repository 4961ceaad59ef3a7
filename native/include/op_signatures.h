// The op functions every backend defines, one set of signatures for all: included inside
// each backend's namespace (alexnet::cpu in native/cpu/cpu.h, alexnet::cuda in native/cuda/ops.cuh),
// so a backend cannot drift from the interface. The file names are the CPU backend's; each
// backend has one file per op under the same name. No include guard, on purpose.
// ALEXNET_OPS_TABLE (backend.h) lists these in the order of struct Ops.

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

// copy.cc: add's out may alias a or b.
void copy(int64_t count, const float* src, float* dst);
void add(int64_t count, const float* a, const float* b, float* out);
void fill(int64_t count, float value, float* dst);


// gemm.cc: row-major C = alpha * op(A) * op(B) + beta * C, op(A): (M, K), op(B): (K, N);
// beta = 0 does not read C.
void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc);
