// The op interface. Every backend implements these functions with these signatures in a
// namespace of its own (alexnet::cpu, alexnet::cuda, alexnet::cudnn) and lists them in an
// Ops table; the binding picks the table by the tensors' device. Pointers are memory of
// that backend's device, except softmax's labels, which are host memory on every backend.
// Shapes are in the parameter structs.
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

// gemm.cc: the built-in blocked GEMM, used where no CBLAS was found (and tested everywhere).
void gemm_builtin(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                  int lda, const float* b, int ldb, float beta, float* c, int ldc);
std::string blas_name();
int blas_threads();

#include "op_signatures.h"  // the ops, as every backend declares them

}  // namespace cpu

// One backend's ops (the functions above, with the same meaning). The binding calls through
// this table, so a backend is added by filling one.
struct Ops {
  const char* name;
  void (*conv2d_forward)(const ConvParams&, const float* x, const float* w, const float* b, float* y);
  void (*conv2d_backward_data)(const ConvParams&, const float* dy, const float* w, float* dx);
  void (*conv2d_backward_filter)(const ConvParams&, const float* x, const float* dy, float* dw, float* db);
  void (*lrn_forward)(const LrnParams&, const float* x, float* y);
  void (*lrn_backward)(const LrnParams&, const float* x, const float* dy, float* dx);
  void (*maxpool_forward)(const PoolParams&, const float* x, float* y);
  void (*maxpool_backward)(const PoolParams&, const float* x, const float* y, const float* dy, float* dx);
  void (*linear_forward)(const LinearParams&, const float* x, const float* w, const float* b, float* y);
  void (*linear_backward_data)(const LinearParams&, const float* dy, const float* w, float* dx);
  void (*linear_backward_params)(const LinearParams&, const float* x, const float* dy, float* dw, float* db);
  void (*relu_forward)(int64_t count, const float* x, float* y);
  void (*relu_backward)(int64_t count, const float* y, const float* dy, float* dx);
  void (*tanh_forward)(int64_t count, const float* x, float* y);
  void (*tanh_backward)(int64_t count, const float* y, const float* dy, float* dx);
  void (*dropout_forward_train)(const DropoutParams&, const float* x, float* y, float* mask);
  void (*dropout_forward_eval)(const DropoutParams&, const float* x, float* y);
  void (*dropout_backward)(const DropoutParams&, const float* dy, const float* mask, float* dx);
  double (*softmax_xent_forward)(const SoftmaxXentParams&, const float* logits, const int32_t* labels, float* probs);
  void (*softmax_xent_backward)(const SoftmaxXentParams&, const float* probs, const int32_t* labels, float scale,
                                float* dlogits);
  void (*sgd_update)(const SgdParams&, float* w, const float* dw, float* v);
  void (*fill_normal)(const NormalParams&, float* out);
  void (*copy)(int64_t count, const float* src, float* dst);
  void (*fill)(int64_t count, float value, float* dst);
  void (*add)(int64_t count, const float* a, const float* b, float* out);
  // row-major, as cpu::gemm
  void (*gemm)(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
               const float* b, int ldb, float beta, float* c, int ldc);
};

// An Ops table of the functions of the enclosing backend namespace.
#define ALEXNET_OPS_TABLE(backend_name)                                                              \
  {                                                                                                \
    backend_name, conv2d_forward, conv2d_backward_data, conv2d_backward_filter, lrn_forward,       \
        lrn_backward, maxpool_forward, maxpool_backward, linear_forward, linear_backward_data,     \
        linear_backward_params, relu_forward, relu_backward, tanh_forward, tanh_backward,          \
        dropout_forward_train, dropout_forward_eval, dropout_backward, softmax_xent_forward,       \
        softmax_xent_backward, sgd_update, fill_normal, copy, fill, add, gemm,                     \
  }

namespace cpu {
const Ops& ops();  // backend.cc
}  // namespace cpu

// The CUDA backend (native/cuda/). Ops run on the device chosen by set_device(), queued on
// that device's one stream; the host waits only in copy_to_host and softmax_xent_forward.
// Every failure throws cuda::Error (common.cuh) with the op and CUDA's message.
namespace cuda {
// The ops, or null where this addon was built without CUDA.
const Ops* ops();
// Selects the device (and its stream) for the ops and allocations that follow on this thread.
void set_device(int index);
// Device memory through a caching allocator: freed blocks are kept by size and reused, so a
// training step allocates nothing from the driver once it has run once.
float* alloc(int device, size_t count);
void release(int device, float* data) noexcept;
size_t cached_bytes();
void release_cached();
// Copies: host<->device ordered on the device's stream (to_host waits for it), and
// device<->device with cudaMemcpyPeerAsync where peer access is possible, else staged through
// pinned host memory. Both devices may be the same.
void copy_to_host(int device, const float* src, float* dst, int64_t count);
void copy_from_host(int device, const float* src, float* dst, int64_t count);
void copy_between(int src_device, const float* src, int dst_device, float* dst, int64_t count);
void synchronize(int device);

// What the CUDA backend reports about itself (native/cuda/device.cu or not_built.cc).
struct DeviceInfo {
  int index;
  std::string name;
  size_t total_memory, free_memory;
  int major, minor, multiprocessors;
  int clock_mhz = 0;              // peak SM clock
  double fp32_peak_tflops = 0.0;  // FMA lanes x 2 x SMs x clock: the card's FP32 rate
};
struct Info {
  bool built;                 // compiled into this addon
  bool usable;                // built and at least one device answers
  std::string reason;         // why not usable
  int runtime_version;        // e.g. 13000
  int driver_version;         // 0 where there is no driver
  std::vector<DeviceInfo> devices;
  bool emulated = false;     // the host emulator of the test build (native/cuda/emu)
};
Info info();
}  // namespace cuda

// The cuDNN baseline backend (native/cudnn/): convolution, LRN and pooling through cuDNN on
// CUDA memory, every other op from the CUDA backend. Null where not built.
namespace cudnn {
const Ops* ops();
std::string version();  // "" where not built
}  // namespace cudnn

}  // namespace alexnet
