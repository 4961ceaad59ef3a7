// What every cuDNN op file shares: one cudnnHandle_t per CUDA device, bound to that device's
// stream so that cuDNN's work is ordered with the CUDA backend's; a status check that throws
// cuda::Error (a JavaScript Error); owners for the descriptors that each op builds per call.
#pragma once
#include "common.cuh"  // first: the CUDA runtime (or its host emulator) that cudnn.h builds on
#include <cudnn.h>

namespace alexnet {
namespace cudnn {

// The handle of the current device (cuda::set_device), created on the device's first use
// and bound to cuda::stream(). Handles live as long as the process.
cudnnHandle_t handle();

// A failed cuDNN call: throws cuda::Error "what: CUDNN_STATUS_...".
[[noreturn]] void fail(cudnnStatus_t status, const char* what);

inline void check(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS) fail(status, what);
}

// Owns one cuDNN descriptor: created by the constructor, destroyed by the destructor, and
// passed to cuDNN calls as itself (it converts to the descriptor type).
template <class T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class Descriptor {
 public:
  Descriptor() { check(Create(&desc_), "creating a cuDNN descriptor"); }
  // Destroying a valid descriptor does not fail, and a destructor must not throw.
  ~Descriptor() { Destroy(desc_); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  operator T() const { return desc_; }

 private:
  T desc_ = nullptr;
};

using TensorDescriptor = Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDescriptor = Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvolutionDescriptor =
    Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;
using LrnDescriptor = Descriptor<cudnnLRNDescriptor_t, cudnnCreateLRNDescriptor, cudnnDestroyLRNDescriptor>;
using PoolingDescriptor = Descriptor<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor>;

// A packed NCHW float32 tensor: (N, C, H, W).
class Tensor4d : public TensorDescriptor {
 public:
  Tensor4d(int n, int c, int h, int w);
};

// The scaling factors of cuDNN's "y = alpha * op(x) + beta * y" (float tensors take float).
constexpr float kOne = 1.0f;
constexpr float kZero = 0.0f;

}  // namespace cudnn
}  // namespace alexnet
