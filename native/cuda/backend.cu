// The CUDA backend's op table: the kernels of this folder, one op per file.
#include "common.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {

const Ops* ops() {
  static const Ops table = {
      "cuda",
      conv2d_forward, conv2d_backward_data, conv2d_backward_filter,
      lrn_forward, lrn_backward,
      maxpool_forward, maxpool_backward,
      linear_forward, linear_backward_data, linear_backward_params,
      relu_forward, relu_backward, tanh_forward, tanh_backward,
      dropout_forward_train, dropout_forward_eval, dropout_backward,
      softmax_xent_forward, softmax_xent_backward,
      sgd_update, fill_normal, copy, fill, add, gemm,
  };
  return &table;
}

}  // namespace cuda
}  // namespace alexnet
