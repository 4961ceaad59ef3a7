// What every CUDA op file shares: the runtime (real, or the host emulator in test builds),
// error checks that become JavaScript Errors, kernel launches, the current device's stream
// and scratch memory from the caching allocator.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#ifdef ALEXNET_CUDA_EMULATOR
#include "emu/cuda_runtime_emu.h"
#else
#include <cuda_runtime.h>
#endif

#include "backend.h"

namespace alexnet {
namespace cuda {

// A failed CUDA call or launch; the binding turns it into a JavaScript Error.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(cudaError_t err, const char* what);

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) fail(err, what);
}

// The stream of the device selected by set_device(); every op of that device runs on it.
cudaStream_t stream();
int current_device();

// Called after each launch: a bad configuration fails here, naming the kernel; with
// ALEXNET_CUDA_SYNC=1 every launch is also waited for, so a fault names its own kernel.
void after_launch(const char* kernel);

#ifdef ALEXNET_CUDA_EMULATOR
template <class... Params, class... Args>
void launch(const char* name, dim3 grid, dim3 block, void (*kernel)(Params...), Args&&... args) {
  alexnet_emu::run_grid(grid, block, [&] { kernel(args...); });
  after_launch(name);
}
#elif defined(__CUDACC__)
template <class... Params, class... Args>
void launch(const char* name, dim3 grid, dim3 block, void (*kernel)(Params...), Args&&... args) {
  kernel<<<grid, block, 0, stream()>>>(std::forward<Args>(args)...);
  after_launch(name);
}
#endif  // a host compiler (the cuDNN sources) includes this for the rest, and launches nothing

// Blocks for a grid-stride loop over `count` elements. The emulator runs every thread as a
// fiber, so it gets few threads (the loop covers the rest: same result, less time).
inline unsigned elementwise_blocks(int64_t count, int threads = 256) {
#ifdef ALEXNET_CUDA_EMULATOR
  const int64_t cap = 2;
#else
  const int64_t cap = 65535;
#endif
  int64_t blocks = (count + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  return unsigned(blocks < cap ? blocks : cap);
}

// Scratch device memory for one op, returned to the cache when the op returns (later work
// on the same stream is ordered after the op's kernels, so reuse is safe).
class Scratch {
 public:
  explicit Scratch(size_t count) : device_(current_device()), data_(count ? alloc(device_, count) : nullptr) {}
  ~Scratch() { if (data_) release(device_, data_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  float* get() const { return data_; }

 private:
  int device_;
  float* data_;
};

}  // namespace cuda
}  // namespace alexnet
