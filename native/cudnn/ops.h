// The cuDNN backend's own ops (the functions of op_signatures.h, same meaning and shapes),
// one file each; backend.cc puts them in the "cudnn" table over the CUDA backend's.
// Pointers are memory of the current CUDA device.
#pragma once
#include "params.h"

namespace alexnet {
namespace cudnn {

// conv.cc
void conv2d_forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y);
void conv2d_backward_data(const ConvParams& p, const float* dy, const float* w, float* dx);
void conv2d_backward_filter(const ConvParams& p, const float* x, const float* dy, float* dw, float* db);
// lrn.cc
void lrn_forward(const LrnParams& p, const float* x, float* y);
void lrn_backward(const LrnParams& p, const float* x, const float* dy, float* dx);
// maxpool.cc
void maxpool_forward(const PoolParams& p, const float* x, float* y);
void maxpool_backward(const PoolParams& p, const float* x, const float* y, const float* dy, float* dx);

}  // namespace cudnn
}  // namespace alexnet
