// What every CUDA op file shares: the runtime (real, or the host emulator in test builds),
// error checks that become JavaScript Errors, kernel launches, the current device's stream
// and scratch memory from the caching allocator.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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

// The backend's table (backend.cu): the ops of this folder on the memory of memory.cu.
// Ops run on the device chosen by set_device(), queued on that device's one stream; the host
// waits only in copy_to_host and softmax_xent_forward. Every failure throws Error.
const Backend* backend();
const Memory& memory();

// memory.cu. Selects the device (and its stream) for the ops and allocations that follow on
// this thread.
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

// device.cu: what the CUDA backend can see.
struct DeviceInfo {
  int index;
  std::string name;
  size_t total_memory, free_memory;
  int major, minor, multiprocessors;
  int clock_mhz = 0;              // peak SM clock
  double fp32_peak_tflops = 0.0;  // FMA lanes x 2 x SMs x clock: the card's FP32 rate
};
struct Info {
  bool usable;                // at least one device answers
  std::string reason;         // why not usable
  int runtime_version;        // e.g. 13000
  int driver_version;         // 0 where there is no driver
  std::vector<DeviceInfo> devices;
};
Info info();

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
