// Devices, streams, memory and copies of the CUDA backend.
// - One stream per device; every op of that device is queued on it, so the host never waits
//   except when data comes back to it.
// - A caching allocator: freed blocks are kept by (rounded) size and handed out again. One
//   stream per device makes that safe without events: whatever is queued later runs later.
// - Copies between devices are ordered on both devices' streams with events, so neither side
//   reads or reuses a buffer before the other side is done with it.
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>
#include "common.cuh"

namespace alexnet {
namespace cuda {
namespace {

struct DeviceState {
  bool ready = false;
  cudaStream_t stream = nullptr;
  std::unordered_multimap<size_t, void*> free_blocks;  // rounded bytes -> block
  std::unordered_map<void*, size_t> block_bytes;       // every block we own, in use or free
  size_t cached = 0;
  std::vector<int> peer;  // -1 not asked yet, 0 no peer access to that device, 1 enabled
};

std::mutex mutex;
std::vector<DeviceState> states;
int device_count = -1;
std::string no_device_reason;  // why cudaGetDeviceCount found none
thread_local int current = 0;

constexpr size_t kStagingBytes = size_t(8) << 20;

std::string device_name(int index) { return "cuda:" + std::to_string(index); }

// Small blocks round to 512 bytes, large ones to 2 MiB, so similar sizes share the cache.
// On the emulator blocks keep their exact size, so that AddressSanitizer sees where each
// buffer ends (an overrun into rounding slack would go unnoticed).
size_t round_bytes(size_t bytes) {
#ifdef ALEXNET_CUDA_EMULATOR
  return bytes ? bytes : 1;
#endif
  const size_t unit = bytes < (size_t(1) << 20) ? 512 : (size_t(2) << 20);
  return (bytes + unit - 1) / unit * unit;
}

int count_devices() {
  if (device_count < 0) {
    int n = 0;
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      no_device_reason = std::string(": ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
      cudaGetLastError();
      n = 0;
    }
    device_count = n;
    states.resize(size_t(n));
  }
  return device_count;
}

// The state of `index`, created on first use (stream, peer table). Caller holds the mutex.
DeviceState& state(int index) {
  const int n = count_devices();
  if (index < 0 || index >= n)
    throw Error(device_name(index) + ": no such CUDA device (this machine has " + std::to_string(n) + no_device_reason + ")");
  DeviceState& s = states[size_t(index)];
  if (!s.ready) {
    check(cudaSetDevice(index), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking), "cudaStreamCreate");
    s.peer.assign(size_t(n), -1);
    s.ready = true;
  }
  return s;
}

// The stream of `index` (created on first use); takes the mutex.
cudaStream_t stream_of(int index) {
  std::lock_guard<std::mutex> lock(mutex);
  return state(index).stream;
}

void free_cached(DeviceState& s, int index) {
  if (s.free_blocks.empty()) return;
  cudaSetDevice(index);
  for (auto& entry : s.free_blocks) {
    cudaFree(entry.second);
    s.block_bytes.erase(entry.second);
  }
  s.free_blocks.clear();
  s.cached = 0;
}

// Whether `dst` can read `src` directly; enables peer access the first time. Caller holds the mutex.
bool peer_enabled(int dst, int src) {
  DeviceState& d = state(dst);
  int& known = d.peer[size_t(src)];
  if (known < 0) {
    int can = 0;
    check(cudaDeviceCanAccessPeer(&can, dst, src), "cudaDeviceCanAccessPeer");
    known = 0;
    if (can) {
      check(cudaSetDevice(dst), "cudaSetDevice");
      const cudaError_t err = cudaDeviceEnablePeerAccess(src, 0);
      if (err == cudaSuccess || err == cudaErrorPeerAccessAlreadyEnabled) known = 1;
      cudaGetLastError();  // an already-enabled peer is not an error for us
    }
  }
  return known == 1;
}

// Makes `waiter`'s stream wait for what is queued on `signaller`'s stream so far.
void order_after(int waiter, int signaller) {
  cudaEvent_t event;
  check(cudaSetDevice(signaller), "cudaSetDevice");
  check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreate");
  check(cudaEventRecord(event, state(signaller).stream), "cudaEventRecord");
  check(cudaSetDevice(waiter), "cudaSetDevice");
  check(cudaStreamWaitEvent(state(waiter).stream, event, 0), "cudaStreamWaitEvent");
  check(cudaEventDestroy(event), "cudaEventDestroy");  // released once it has fired
}

}  // namespace

void fail(cudaError_t err, const char* what) {
  cudaGetLastError();  // clear a non-sticky error so the next op starts clean
  throw Error(std::string(what) + ": " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

int current_device() { return current; }

cudaStream_t stream() { return stream_of(current); }

// The ops' stream of a device, for the NCCL communicator (native/comm/nccl.cc) to wait on.
cudaStream_t compute_stream(int index) { return stream_of(index); }

void after_launch(const char* kernel) {
  check(cudaGetLastError(), kernel);
  static const bool sync = [] {
    const char* v = std::getenv("ALEXNET_CUDA_SYNC");
    return v && *v && std::string(v) != "0";
  }();
  if (sync) check(cudaStreamSynchronize(stream()), kernel);
}

void set_device(int index) {
  std::lock_guard<std::mutex> lock(mutex);
  state(index);
  check(cudaSetDevice(index), "cudaSetDevice");
  current = index;
}

float* alloc(int device, size_t count) {
  const size_t bytes = round_bytes(count * sizeof(float));
  std::lock_guard<std::mutex> lock(mutex);
  DeviceState& s = state(device);
  auto it = s.free_blocks.find(bytes);
  if (it != s.free_blocks.end()) {
    void* p = it->second;
    s.free_blocks.erase(it);
    s.cached -= bytes;
    return static_cast<float*>(p);
  }
  check(cudaSetDevice(device), "cudaSetDevice");
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    free_cached(s, device);  // give the cache back and try once more
    check(cudaSetDevice(device), "cudaSetDevice");
    err = cudaMalloc(&p, bytes);
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    cudaGetLastError();
    throw Error("out of memory on " + device_name(device) + ": asked for " + std::to_string(bytes) + " bytes, " +
                std::to_string(free_bytes) + " of " + std::to_string(total_bytes) + " bytes free (" +
                cudaGetErrorName(err) + ")");
  }
  if (current != device) cudaSetDevice(current);
  s.block_bytes[p] = bytes;
  return static_cast<float*>(p);
}

void release(int device, float* data) noexcept {
  if (!data) return;
  std::lock_guard<std::mutex> lock(mutex);
  if (device < 0 || device >= int(states.size())) return;
  DeviceState& s = states[size_t(device)];
  auto it = s.block_bytes.find(data);
  if (it == s.block_bytes.end()) return;  // not ours: never happens, never crash on it
  s.free_blocks.emplace(it->second, data);
  s.cached += it->second;
}

size_t cached_bytes() {
  std::lock_guard<std::mutex> lock(mutex);
  size_t total = 0;
  for (const DeviceState& s : states) total += s.cached;
  return total;
}

void release_cached() {
  std::lock_guard<std::mutex> lock(mutex);
  for (size_t i = 0; i < states.size(); ++i) {
    if (!states[i].ready) continue;
    cudaSetDevice(int(i));
    cudaStreamSynchronize(states[i].stream);  // a cached block may still be read by queued work
    free_cached(states[i], int(i));
  }
  if (!states.empty()) cudaSetDevice(current);
  cudaGetLastError();
}

void copy_to_host(int device, const float* src, float* dst, int64_t count) {
  cudaStream_t s = stream_of(device);
  check(cudaSetDevice(device), "cudaSetDevice");
  check(cudaMemcpyAsync(dst, src, size_t(count) * sizeof(float), cudaMemcpyDeviceToHost, s), "copy to host");
  check(cudaStreamSynchronize(s), "copy to host (waiting for the device's queued work)");
  cudaSetDevice(current);
}

void copy_from_host(int device, const float* src, float* dst, int64_t count) {
  cudaStream_t s = stream_of(device);
  check(cudaSetDevice(device), "cudaSetDevice");
  // From pageable memory this returns once the source has been staged, so the caller may
  // reuse its buffer right away; the device-side write stays ordered on the stream.
  check(cudaMemcpyAsync(dst, src, size_t(count) * sizeof(float), cudaMemcpyHostToDevice, s), "copy from host");
  cudaSetDevice(current);
}

void copy_between(int src_device, const float* src, int dst_device, float* dst, int64_t count) {
  const size_t bytes = size_t(count) * sizeof(float);
  std::lock_guard<std::mutex> lock(mutex);
  if (src_device == dst_device) {
    check(cudaSetDevice(src_device), "cudaSetDevice");
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, state(src_device).stream), "copy");
    cudaSetDevice(current);
    return;
  }
  if (peer_enabled(dst_device, src_device)) {
    order_after(dst_device, src_device);  // the source is written by work queued on its device
    check(cudaSetDevice(dst_device), "cudaSetDevice");
    check(cudaMemcpyPeerAsync(dst, dst_device, src, src_device, bytes, state(dst_device).stream),
          "peer copy (cudaMemcpyPeerAsync)");
    order_after(src_device, dst_device);  // the source may be reused only after the copy
    cudaSetDevice(current);
    return;
  }
  // No peer access: through pinned host memory, one staging buffer at a time.
  static float* staging = nullptr;
  if (!staging) check(cudaMallocHost(reinterpret_cast<void**>(&staging), kStagingBytes), "cudaMallocHost");
  DeviceState& from = state(src_device);
  DeviceState& to = state(dst_device);
  for (size_t done = 0; done < bytes; done += kStagingBytes) {
    const size_t n = std::min(kStagingBytes, bytes - done);
    check(cudaSetDevice(src_device), "cudaSetDevice");
    check(cudaMemcpyAsync(staging, reinterpret_cast<const char*>(src) + done, n, cudaMemcpyDeviceToHost, from.stream),
          "staged copy (device to host)");
    check(cudaStreamSynchronize(from.stream), "staged copy (device to host)");
    check(cudaSetDevice(dst_device), "cudaSetDevice");
    check(cudaMemcpyAsync(reinterpret_cast<char*>(dst) + done, staging, n, cudaMemcpyHostToDevice, to.stream),
          "staged copy (host to device)");
    check(cudaStreamSynchronize(to.stream), "staged copy (host to device)");
  }
  cudaSetDevice(current);
}

void synchronize(int device) {
  cudaStream_t s = stream_of(device);
  check(cudaStreamSynchronize(s), "synchronize");
}

}  // namespace cuda
}  // namespace alexnet
