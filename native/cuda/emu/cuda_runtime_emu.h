// A host emulator of the small part of CUDA that native/cuda/ uses, so that the CUDA
// kernels' indexing, tiling and barrier logic is tested on machines without a GPU (most of
// this project's machines). Built only into the test addon (cmake -DALEXNET_CUDA_EMULATOR=ON,
// `npm run build:emulator`); the shipped addon always uses the real CUDA runtime.
//
// How it works: every block of a launch runs its threads as fibers (emulator.cc) on one OS
// thread; __syncthreads() switches to the next fiber, and a block's fibers resume only when
// all of them reached the barrier. __shared__ becomes a static thread_local, which is
// exactly "one copy per block" when blocks run one after another. Device memory is host
// memory, streams and events are ordered trivially (everything is synchronous), and a
// configurable number of devices with a configurable capacity lets tests reach the
// multi-device, peer-copy and out-of-memory paths.
//
// Warp-collective instructions (mma.sync) are emulated at source level (native/cuda/mma.cuh):
// each lane leaves its fragments in its warp's scratch, waits at a warp barrier (the fibers
// of one warp, lane = linear thread index % 32), computes its share of the product from all
// 32 lanes' fragments, and waits again before the scratch is reused. cp.async copies are
// deferred until the issuing thread waits for their group, so a kernel that reads shared
// memory before cp.async.wait_group (and the barrier after it) reads stale data here too.
//
// What it cannot find: data races between threads of a block (fibers switch only at
// barriers), warp-synchronous assumptions beyond the collectives above, and device-specific
// limits. Those need a GPU (compute-sanitizer --tool racecheck / synccheck).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local
#define __launch_bounds__(...)

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};

namespace alexnet_emu {
extern thread_local uint3 thread_idx, block_idx;
extern thread_local dim3 block_dim, grid_dim;
void syncthreads();
// The calling thread's lane (0..31) and warp within its block.
unsigned lane_id();
unsigned warp_id();
// Waits until all 32 lanes of the calling warp arrive (a warp with fewer live lanes, or
// lanes waiting at __syncthreads() instead, is reported as a launch failure).
void syncwarp();
// Scratch memory shared by the lanes of the calling warp (at least `bytes`, kept for the
// block), for the warp-collective emulations.
void* warp_scratch(size_t bytes);
// cp.async: the copy is queued on the calling thread and done when it waits for its group.
void cp_async(void* dst_shared, const void* src_global, size_t bytes);
void cp_async_commit();
// Completes every committed group but the newest `pending` (cp.async.wait_group pending).
void cp_async_wait(int pending);
// Runs body once per thread of every block, blocks one after another.
void run_grid(dim3 grid, dim3 block, const std::function<void()>& body);
}  // namespace alexnet_emu

#define threadIdx (::alexnet_emu::thread_idx)
#define blockIdx (::alexnet_emu::block_idx)
#define blockDim (::alexnet_emu::block_dim)
#define gridDim (::alexnet_emu::grid_dim)

inline void __syncthreads() { alexnet_emu::syncthreads(); }
inline float __ldg(const float* p) { return *p; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
// Blocks run one at a time on one OS thread, so a plain add is atomic here.
inline float atomicAdd(float* p, float v) { const float old = *p; *p = old + v; return old; }
// expf, powf, tanhf, fmaxf, ... come from <math.h> through <cmath>, as in device code.
#include <math.h>

// ---- runtime API subset ----
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidDevice = 101,
  cudaErrorPeerAccessAlreadyEnabled = 704,
  cudaErrorPeerAccessNotEnabled = 705,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
struct CUstream_st;
struct CUevent_st;
typedef CUstream_st* cudaStream_t;
typedef CUevent_st* cudaEvent_t;
#define cudaEventDisableTiming 0x2
#define cudaStreamNonBlocking 0x1

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int major, minor, multiProcessorCount;
};

enum cudaDeviceAttr {
  cudaDevAttrClockRate = 13,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
};
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMallocHost(void** ptr, size_t bytes);
cudaError_t cudaFreeHost(void* ptr);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device, size_t bytes,
                                cudaStream_t stream);
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaDeviceCanAccessPeer(int* can, int device, int peer);
cudaError_t cudaDeviceEnablePeerAccess(int peer, unsigned flags);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t err);
const char* cudaGetErrorString(cudaError_t err);
