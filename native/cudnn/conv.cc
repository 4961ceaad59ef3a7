// Convolution (forward, backward to data, backward to filter and bias) through cuDNN, meaning
// what native/cpu/conv.cc means (cross-correlation, zero padding, stride, groups), in FP32 FMA
// math only (no TF32), so that it matches the CPU and is a like-for-like baseline for our kernels.
#include <array>
#include <map>
#include <mutex>
#include <string>
#include <vector>
#include "handle.h"
#include "ops.cuh"  // the CUDA backend's relu, for a fused ReLU
#include "ops.h"

namespace alexnet {
namespace cudnn {
namespace {

// The largest workspace an algorithm may ask for; faster ones that need more are passed over.
constexpr size_t kWorkspaceLimit = size_t(1) << 30;

// The descriptors of one convolution.
struct ConvDescriptors {
  Tensor4d x, y;            // x: (N, C, H, W), y: (N, K, OH, OW); also dx and dy
  FilterDescriptor w;       // (K, C/G, KH, KW); also dw
  ConvolutionDescriptor conv;

  explicit ConvDescriptors(const ConvParams& p) : x(p.n, p.c, p.h, p.w), y(p.n, p.k, p.oh, p.ow) {
    check(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, p.k, p.c / p.groups, p.kh, p.kw),
          "cudnnSetFilter4dDescriptor");
    check(cudnnSetConvolution2dDescriptor(conv, p.pad_h, p.pad_w, p.stride_h, p.stride_w, 1, 1,
                                          CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
          "cudnnSetConvolution2dDescriptor");
    check(cudnnSetConvolutionGroupCount(conv, p.groups), "cudnnSetConvolutionGroupCount");
    // FP32 FMA kernels only: the default would let Ampere and later GPUs use TF32 tensor
    // cores, whose 10-bit mantissas neither match the CPU nor compare like with like.
    check(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH), "cudnnSetConvolutionMathType");
  }
};

// A chosen algorithm (a cudnnConvolution*Algo_t) and the workspace it needs with our descriptors.
struct Algo {
  int algo;
  size_t workspace;
};

// The device and every field of ConvParams that shapes the convolution (relu does not: it is
// applied after cuDNN's call).
using Key = std::array<int, 15>;

Key key_of(const ConvParams& p) {
  return {cuda::current_device(), p.n, p.c, p.h, p.w, p.k, p.kh, p.kw, p.stride_h, p.stride_w,
          p.pad_h, p.pad_w, p.groups, p.oh, p.ow};
}

// One per direction: the algorithm chosen for each shape on each device, chosen once (cuDNN's
// benchmark takes far longer than the convolution itself).
struct AlgoCache {
  std::mutex mutex;
  std::map<Key, Algo> chosen;

  bool find(const Key& key, Algo* out) {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = chosen.find(key);
    if (it == chosen.end()) return false;
    *out = it->second;
    return true;
  }
  void store(const Key& key, Algo algo) {
    std::lock_guard<std::mutex> lock(mutex);
    chosen[key] = algo;
  }
};

AlgoCache forward_cache, backward_data_cache, backward_filter_cache;

// The first of cuDNN's candidates (listed fastest first) that ran successfully, that is not a
// tensor-core (TF32) one, that our descriptors accept (its workspace size can be asked for:
// cuDNN's benchmark also tries other math types) and whose workspace fits.
// workspace_size(algo, &bytes) asks cuDNN.
template <class Perf, class WorkspaceSize>
bool pick(const std::vector<Perf>& perfs, int count, WorkspaceSize workspace_size, Algo* out) {
  for (int i = 0; i < count; ++i) {
    const Perf& perf = perfs[size_t(i)];
    if (perf.status != CUDNN_STATUS_SUCCESS) continue;
    if (perf.mathType == CUDNN_TENSOR_OP_MATH || perf.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
    size_t bytes = 0;
    if (workspace_size(perf.algo, &bytes) != CUDNN_STATUS_SUCCESS) continue;
    if (bytes > kWorkspaceLimit) continue;
    *out = Algo{int(perf.algo), bytes};
    return true;
  }
  return false;
}

// One direction's algorithm: from cuDNN's benchmark, find(perfs, &count), which runs every
// algorithm once on buffers it allocates itself; where that fails or offers nothing usable
// (e.g. no memory left for it), from cuDNN's heuristics, get(perfs, &count), which checks itself.
template <class Perf, class Find, class Get, class WorkspaceSize>
Algo choose(int max_count, Find find, Get get, WorkspaceSize workspace_size, const char* op) {
  std::vector<Perf> perfs(static_cast<size_t>(max_count));
  int count = 0;
  Algo algo;
  if (find(perfs.data(), &count) == CUDNN_STATUS_SUCCESS && pick(perfs, count, workspace_size, &algo)) return algo;
  get(perfs.data(), &count);
  if (pick(perfs, count, workspace_size, &algo)) return algo;
  throw cuda::Error(std::string(op) + ": cuDNN offered no FP32 algorithm for this shape within " +
                    std::to_string(kWorkspaceLimit >> 20) + " MiB of workspace");
}

Algo forward_algo(const ConvParams& p, const ConvDescriptors& d) {
  const Key key = key_of(p);
  Algo algo;
  if (forward_cache.find(key, &algo)) return algo;
  cudnnHandle_t h = handle();
  int max = 0;
  check(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max), "cudnnGetConvolutionForwardAlgorithmMaxCount");
  algo = choose<cudnnConvolutionFwdAlgoPerf_t>(
      max,
      [&](cudnnConvolutionFwdAlgoPerf_t* perfs, int* count) {
        return cudnnFindConvolutionForwardAlgorithm(h, d.x, d.w, d.conv, d.y, max, count, perfs);
      },
      [&](cudnnConvolutionFwdAlgoPerf_t* perfs, int* count) {
        check(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, max, count, perfs),
              "cudnnGetConvolutionForwardAlgorithm_v7");
      },
      [&](cudnnConvolutionFwdAlgo_t a, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, a, bytes);
      },
      "cuDNN convolution forward");
  forward_cache.store(key, algo);
  return algo;
}

Algo backward_data_algo(const ConvParams& p, const ConvDescriptors& d) {
  const Key key = key_of(p);
  Algo algo;
  if (backward_data_cache.find(key, &algo)) return algo;
  cudnnHandle_t h = handle();
  int max = 0;
  check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max), "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
  algo = choose<cudnnConvolutionBwdDataAlgoPerf_t>(
      max,
      [&](cudnnConvolutionBwdDataAlgoPerf_t* perfs, int* count) {
        return cudnnFindConvolutionBackwardDataAlgorithm(h, d.w, d.y, d.conv, d.x, max, count, perfs);
      },
      [&](cudnnConvolutionBwdDataAlgoPerf_t* perfs, int* count) {
        check(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, max, count, perfs),
              "cudnnGetConvolutionBackwardDataAlgorithm_v7");
      },
      [&](cudnnConvolutionBwdDataAlgo_t a, size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, a, bytes);
      },
      "cuDNN convolution backward data");
  backward_data_cache.store(key, algo);
  return algo;
}

Algo backward_filter_algo(const ConvParams& p, const ConvDescriptors& d) {
  const Key key = key_of(p);
  Algo algo;
  if (backward_filter_cache.find(key, &algo)) return algo;
  cudnnHandle_t h = handle();
  int max = 0;
  check(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max),
        "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
  algo = choose<cudnnConvolutionBwdFilterAlgoPerf_t>(
      max,
      [&](cudnnConvolutionBwdFilterAlgoPerf_t* perfs, int* count) {
        return cudnnFindConvolutionBackwardFilterAlgorithm(h, d.x, d.y, d.conv, d.w, max, count, perfs);
      },
      [&](cudnnConvolutionBwdFilterAlgoPerf_t* perfs, int* count) {
        check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, max, count, perfs),
              "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
      },
      [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* bytes) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, a, bytes);
      },
      "cuDNN convolution backward filter");
  backward_filter_cache.store(key, algo);
  return algo;
}

// Scratch is counted in floats.
size_t floats(size_t bytes) { return (bytes + sizeof(float) - 1) / sizeof(float); }

}  // namespace

// y = conv(x, w) + b (b optional); with p.relu, max(0, that). cuDNN's fused
// cudnnConvolutionBiasActivationForward would save a pass, but its ReLU is only promised for
// the IMPLICIT_PRECOMP_GEMM algorithm and its NaN handling is not documented; this baseline keeps
// the algorithm cuDNN's benchmark chose and runs the CUDA backend's relu in place after it,
// so that the fused call equals conv2d then relu on this backend bit for bit.
void conv2d_forward(const ConvParams& p, const float* x, const float* w, const float* b, float* y) {
  const ConvDescriptors d(p);
  const Algo algo = forward_algo(p, d);
  cuda::Scratch workspace(floats(algo.workspace));
  check(cudnnConvolutionForward(handle(), &kOne, d.x, x, d.w, w, d.conv, cudnnConvolutionFwdAlgo_t(algo.algo),
                                workspace.get(), algo.workspace, &kZero, d.y, y),
        "cudnnConvolutionForward");
  if (b) {
    const Tensor4d bias(1, p.k, 1, 1);  // broadcast over N, OH, OW
    check(cudnnAddTensor(handle(), &kOne, bias, b, &kOne, d.y, y), "cudnnAddTensor (conv2d bias)");
  }
  if (p.relu) cuda::relu_forward(conv_y_size(p), y, y);  // on the same stream as cuDNN's handle
}

// dx = conv^T(dy, w), overwritten
void conv2d_backward_data(const ConvParams& p, const float* dy, const float* w, float* dx) {
  const ConvDescriptors d(p);
  const Algo algo = backward_data_algo(p, d);
  cuda::Scratch workspace(floats(algo.workspace));
  check(cudnnConvolutionBackwardData(handle(), &kOne, d.w, w, d.y, dy, d.conv,
                                     cudnnConvolutionBwdDataAlgo_t(algo.algo), workspace.get(), algo.workspace,
                                     &kZero, d.x, dx),
        "cudnnConvolutionBackwardData");
}

// dw and db (db optional) overwritten: dw = sum over images and positions of dy * x, db = sum of dy
void conv2d_backward_filter(const ConvParams& p, const float* x, const float* dy, float* dw, float* db) {
  const ConvDescriptors d(p);
  const Algo algo = backward_filter_algo(p, d);
  cuda::Scratch workspace(floats(algo.workspace));
  check(cudnnConvolutionBackwardFilter(handle(), &kOne, d.x, x, d.y, dy, d.conv,
                                       cudnnConvolutionBwdFilterAlgo_t(algo.algo), workspace.get(), algo.workspace,
                                       &kZero, d.w, dw),
        "cudnnConvolutionBackwardFilter");
  if (db) {
    const Tensor4d bias(1, p.k, 1, 1);
    check(cudnnConvolutionBackwardBias(handle(), &kOne, d.y, dy, &kZero, bias, db), "cudnnConvolutionBackwardBias");
  }
}

}  // namespace cudnn
}  // namespace alexnet
