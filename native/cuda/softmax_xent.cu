// Softmax + multinomial cross-entropy, mean over the batch, computed as native/cpu/
// softmax_xent.cc does (float exponentials, double sums), one block of 256 threads per row.
// Labels arrive as host memory and are copied to the device on the op's stream.
#include <vector>
#include "common.cuh"
#include "ops.cuh"

namespace alexnet {
namespace cuda {
namespace {

constexpr int kThreads = 256;

__global__ void softmax_xent_kernel(int classes, const float* logits, const int32_t* labels, float* probs,
                                    double* row_loss) {
  __shared__ float max_part[kThreads];
  __shared__ double sum_part[kThreads];
  const int n = blockIdx.x, t = threadIdx.x;
  const float* z = logits + size_t(n) * classes;
  float* q = probs + size_t(n) * classes;
  float m = -INFINITY;
  for (int c = t; c < classes; c += kThreads) m = fmaxf(m, z[c]);
  max_part[t] = m;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (t < half) max_part[t] = fmaxf(max_part[t], max_part[t + half]);
    __syncthreads();
  }
  const float zmax = max_part[0];
  double s = 0.0;
  for (int c = t; c < classes; c += kThreads) {
    const float e = expf(z[c] - zmax);
    q[c] = e;
    s += e;
  }
  sum_part[t] = s;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (t < half) sum_part[t] += sum_part[t + half];
    __syncthreads();
  }
  const double sum = sum_part[0];
  const float inv = float(1.0 / sum);
  for (int c = t; c < classes; c += kThreads) q[c] *= inv;
  if (t == 0) row_loss[n] = log(sum) - double(z[labels[n]] - zmax);
}

__global__ void softmax_xent_backward_kernel(int n, int classes, float s, const float* probs, const int32_t* labels,
                                             float* dlogits) {
  const int64_t count = int64_t(n) * classes;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const int row = int(i / classes), c = int(i % classes);
    const float d = s * probs[i];
    dlogits[i] = c == labels[row] ? d - s : d;
  }
}

// The labels on the device, in scratch memory that lives as long as this object.
struct DeviceLabels {
  Scratch memory;
  DeviceLabels(const int32_t* host, int n) : memory(size_t(n)) {
    static_assert(sizeof(int32_t) == sizeof(float), "labels share float scratch");
    check(cudaMemcpyAsync(memory.get(), host, size_t(n) * sizeof(int32_t), cudaMemcpyHostToDevice, stream()),
          "softmaxCrossEntropy: copying labels");
  }
  const int32_t* get() const { return reinterpret_cast<const int32_t*>(memory.get()); }
};

}  // namespace

double softmax_xent_forward(const SoftmaxXentParams& p, const float* logits, const int32_t* labels, float* probs) {
  DeviceLabels device_labels(labels, p.n);
  Scratch row_loss(size_t(p.n) * 2);  // p.n doubles
  double* loss = reinterpret_cast<double*>(row_loss.get());
  launch("softmaxCrossEntropy", dim3(unsigned(p.n)), kThreads, softmax_xent_kernel, p.classes, logits,
         device_labels.get(), probs, loss);
  std::vector<double> host(size_t(p.n));
  check(cudaMemcpyAsync(host.data(), loss, size_t(p.n) * sizeof(double), cudaMemcpyDeviceToHost, stream()),
        "softmaxCrossEntropy: reading the loss");
  check(cudaStreamSynchronize(stream()), "softmaxCrossEntropy");
  double total = 0.0;
  for (double l : host) total += l;
  return total / p.n;
}

void softmax_xent_backward(const SoftmaxXentParams& p, const float* probs, const int32_t* labels, float scale,
                           float* dlogits) {
  DeviceLabels device_labels(labels, p.n);
  const int64_t count = int64_t(p.n) * p.classes;
  launch("softmaxCrossEntropyBackward", elementwise_blocks(count), 256, softmax_xent_backward_kernel, p.n, p.classes,
         scale / float(p.n), probs, device_labels.get(), dlogits);
}

}  // namespace cuda
}  // namespace alexnet
