// The host emulator behind cuda_runtime_emu.h: fibers for the threads of a block, host
// memory for device memory, synchronous streams. See the header for what it can and
// cannot check. Settings (environment, read once):
//   ALEXNET_CUDA_EMULATOR_DEVICES  number of emulated devices (default 2)
//   ALEXNET_CUDA_EMULATOR_MEMORY   bytes of memory per device (default 4 GiB)
//   ALEXNET_CUDA_EMULATOR_PEER     0 makes cudaDeviceCanAccessPeer say no (default 1)
//   ALEXNET_CUDA_EMULATOR_SMS      multiprocessors reported (default 132, an H100 SXM's, so that
//                                  tile and split-K choices are the ones made on that GPU)
#include "cuda_runtime_emu.h"
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define ALEXNET_EMU_OWN_SWITCH 1
#else
#include <ucontext.h>
#endif
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace alexnet_emu {

thread_local uint3 thread_idx, block_idx;
thread_local dim3 block_dim, grid_dim;

namespace {

enum class State { Ready, AtBarrier, AtWarpBarrier, Done };

struct Copy {
  void* dst;
  const void* src;
  size_t bytes;
};

// A fiber's saved state, and the switch between two of them. glibc's swapcontext saves
// and restores the signal mask with a system call at every switch; the emulator switches at
// every barrier of every thread (millions of times for one AlexNet layer), and on virtual
// machines that system call was 75% of the run time. On x86-64 a switch here is six pushes,
// a stack swap and six pops: the System V callee-saved registers are all a call must keep.
// (MXCSR and the x87 control word are not saved: no kernel changes rounding modes.) Other
// architectures, and AddressSanitizer builds (which must see the stack switches), keep ucontext.
#ifdef ALEXNET_EMU_OWN_SWITCH
struct Context {
  void* sp = nullptr;
};
extern "C" void alexnet_emu_switch(void** save_sp, void* load_sp);
asm(R"(
  .text
  .p2align 4
  .globl alexnet_emu_switch
  .hidden alexnet_emu_switch
  .type alexnet_emu_switch, @function
alexnet_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size alexnet_emu_switch, .-alexnet_emu_switch
)");
void switch_context(Context* from, Context* to) { alexnet_emu_switch(&from->sp, to->sp); }
#else
struct Context {
  ucontext_t uc;
};
void switch_context(Context* from, Context* to) { swapcontext(&from->uc, &to->uc); }
#endif

struct Fiber {
  Context context;
  State state;
  uint3 index;
  unsigned linear;                         // threadIdx as one number: lane = linear % 32
  std::vector<Copy> open_group;            // cp.async issued since the last commit
  std::vector<std::vector<Copy>> groups;   // committed, oldest first
};

struct Block {
  Context scheduler;
  std::vector<Fiber> fibers;
  Fiber* current = nullptr;
  const std::function<void()>* body = nullptr;
  std::vector<std::vector<char>> warp_scratch;  // one per warp
};

constexpr size_t kStackBytes = 256 * 1024;
thread_local Block* current_block = nullptr;
thread_local std::vector<std::vector<char>> stacks;
thread_local cudaError_t last_error = cudaSuccess;
thread_local std::string last_error_detail;
thread_local int current_device = 0;
void fiber_main() {
  Block* b = current_block;
  (*b->body)();
  b->current->state = State::Done;
}

#ifdef ALEXNET_EMU_OWN_SWITCH
// A fresh fiber's stack holds what alexnet_emu_switch pops (six zero registers) and then
// the address it returns to; the slot above stands for the caller's return address, so the
// entry function starts with the stack aligned as a call leaves it. It never returns: a
// finished fiber switches to the scheduler, which does not resume it.
[[noreturn]] void fiber_entry() {
  fiber_main();
  Block* b = current_block;
  switch_context(&b->current->context, &b->scheduler);
  __builtin_trap();
}

void start_fiber(Context* context, char* stack, Context* /*link*/) {
  auto top = reinterpret_cast<uintptr_t>(stack + kStackBytes) & ~uintptr_t(15);
  auto* slots = reinterpret_cast<void**>(top) - 8;
  for (int i = 0; i < 6; ++i) slots[i] = nullptr;
  slots[6] = reinterpret_cast<void*>(&fiber_entry);
  slots[7] = nullptr;
  context->sp = slots;
}
#else
// Kept out of run_grid so that getcontext's "returns twice" is no concern of its locals.
__attribute__((noinline)) void start_fiber(Context* context, char* stack, Context* link) {
  getcontext(&context->uc);
  context->uc.uc_stack.ss_sp = stack;
  context->uc.uc_stack.ss_size = kStackBytes;
  context->uc.uc_link = &link->uc;  // a finished fiber returns to the scheduler
  makecontext(&context->uc, fiber_main, 0);
}
#endif

void set_error(cudaError_t err, const std::string& detail) {
  if (last_error == cudaSuccess) {
    last_error = err;
    last_error_detail = detail;
  }
}

int env_int(const char* name, long long fallback, long long* out_value = nullptr) {
  const char* v = std::getenv(name);
  long long value = fallback;
  if (v && *v) value = std::atoll(v);
  if (out_value) *out_value = value;
  return int(value);
}

struct Devices {
  int count;
  size_t capacity;
  bool peer;
  int multiprocessors;
  std::vector<size_t> used;
  std::map<void*, std::pair<int, size_t>> allocations;
  std::set<std::pair<int, int>> peers_enabled;
  std::mutex mutex;
  Devices() {
    count = std::max(0, env_int("ALEXNET_CUDA_EMULATOR_DEVICES", 2));
    long long bytes = 0;
    env_int("ALEXNET_CUDA_EMULATOR_MEMORY", 4LL << 30, &bytes);
    capacity = size_t(std::max(0LL, bytes));
    peer = env_int("ALEXNET_CUDA_EMULATOR_PEER", 1) != 0;
    multiprocessors = std::max(1, env_int("ALEXNET_CUDA_EMULATOR_SMS", 132));
    used.assign(size_t(count), 0);
  }
};

Devices& devices() {
  static Devices d;
  return d;
}

}  // namespace

void syncthreads() {
  Block* b = current_block;
  if (!b) return;
  Fiber* f = b->current;
  f->state = State::AtBarrier;
  switch_context(&f->context, &b->scheduler);
}

unsigned lane_id() { return current_block ? current_block->current->linear % 32 : 0; }
unsigned warp_id() { return current_block ? current_block->current->linear / 32 : 0; }

void syncwarp() {
  Block* b = current_block;
  if (!b) return;
  Fiber* f = b->current;
  f->state = State::AtWarpBarrier;
  switch_context(&f->context, &b->scheduler);
}

void* warp_scratch(size_t bytes) {
  Block* b = current_block;
  static thread_local std::vector<char> outside;  // called outside a launch: one "warp"
  std::vector<char>& s = b ? b->warp_scratch[warp_id()] : outside;
  if (s.size() < bytes) s.resize(bytes);
  return s.data();
}

void cp_async(void* dst, const void* src, size_t bytes) {
  if (!current_block) {
    std::memcpy(dst, src, bytes);
    return;
  }
  current_block->current->open_group.push_back(Copy{dst, src, bytes});
}

void cp_async_commit() {
  if (!current_block) return;
  Fiber* f = current_block->current;
  f->groups.push_back(std::move(f->open_group));
  f->open_group.clear();
}

void cp_async_wait(int pending) {
  if (!current_block) return;
  Fiber* f = current_block->current;
  const size_t keep = size_t(std::max(0, pending));
  size_t done = 0;
  while (f->groups.size() - done > keep) {
    for (const Copy& c : f->groups[done]) std::memcpy(c.dst, c.src, c.bytes);
    ++done;
  }
  f->groups.erase(f->groups.begin(), f->groups.begin() + std::ptrdiff_t(done));
}

void run_grid(dim3 grid, dim3 block, const std::function<void()>& body) {
  const size_t threads = size_t(block.x) * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535) {
    set_error(cudaErrorInvalidValue, "invalid configuration argument (grid " + std::to_string(grid.x) + "x" +
                                         std::to_string(grid.y) + "x" + std::to_string(grid.z) + ", block " +
                                         std::to_string(block.x) + "x" + std::to_string(block.y) + "x" +
                                         std::to_string(block.z) + ")");
    return;
  }
  while (stacks.size() < threads) stacks.emplace_back(kStackBytes);
  Block b;
  b.body = &body;
  b.fibers.resize(threads);
  b.warp_scratch.resize((threads + 31) / 32);
  Block* saved = current_block;
  current_block = &b;
  grid_dim = grid;
  block_dim = block;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        block_idx = uint3{bx, by, bz};
        for (size_t i = 0; i < threads; ++i) {
          Fiber& f = b.fibers[i];
          start_fiber(&f.context, stacks[i].data(), &b.scheduler);
          f.state = State::Ready;
          f.index = uint3{unsigned(i % block.x), unsigned(i / block.x % block.y), unsigned(i / (size_t(block.x) * block.y))};
          f.linear = unsigned(i);
          f.open_group.clear();
          f.groups.clear();
        }
        for (;;) {
          for (Fiber& f : b.fibers) {
            if (f.state != State::Ready) continue;
            b.current = &f;
            thread_idx = f.index;
            switch_context(&b.scheduler, &f.context);
          }
          // Warps whose 32 lanes all wait at a warp barrier go on; a warp with only some
          // lanes there (the others exited or wait at __syncthreads) can never go on.
          bool released = false;
          std::string stuck;
          for (size_t w = 0; w * 32 < threads; ++w) {
            const size_t end = std::min(threads, w * 32 + 32);
            size_t waiting = 0;
            for (size_t i = w * 32; i < end; ++i) waiting += b.fibers[i].state == State::AtWarpBarrier;
            if (waiting == 0) continue;
            if (waiting == 32) {
              for (size_t i = w * 32; i < end; ++i) b.fibers[i].state = State::Ready;
              released = true;
            } else if (stuck.empty()) {
              stuck = "a warp-collective operation reached by only " + std::to_string(waiting) + " of 32 lanes of warp " +
                      std::to_string(w) + " of block (" + std::to_string(bx) + "," + std::to_string(by) + "," +
                      std::to_string(bz) + ")";
            }
          }
          if (released) continue;
          if (!stuck.empty()) {
            set_error(cudaErrorLaunchFailure, stuck);
            current_block = saved;
            return;
          }
          size_t done = 0;
          for (const Fiber& f : b.fibers) done += f.state == State::Done;
          if (done == threads) break;
          if (done > 0) {
            // Some threads exited while others wait at a barrier: undefined on a GPU.
            set_error(cudaErrorLaunchFailure, "__syncthreads() reached by only " + std::to_string(threads - done) +
                                                  " of " + std::to_string(threads) + " threads of block (" +
                                                  std::to_string(bx) + "," + std::to_string(by) + "," +
                                                  std::to_string(bz) + ")");
            current_block = saved;
            return;
          }
          for (Fiber& f : b.fibers) f.state = State::Ready;
        }
      }
  current_block = saved;
}

}  // namespace alexnet_emu

using alexnet_emu::devices;

namespace {
cudaError_t check_device(int device) {
  return device >= 0 && device < devices().count ? cudaSuccess : cudaErrorInvalidDevice;
}
}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  *count = devices().count;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (check_device(device)) return cudaErrorInvalidDevice;
  std::memset(prop, 0, sizeof(*prop));
  std::snprintf(prop->name, sizeof(prop->name), "CUDA emulator on the host");
  prop->totalGlobalMem = devices().capacity;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = devices().multiprocessors;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (check_device(device)) return cudaErrorInvalidDevice;
  switch (attr) {
    case cudaDevAttrClockRate: *value = 1000000; break;  // 1 GHz, a made-up clock
    case cudaDevAttrMultiProcessorCount: *value = devices().multiprocessors; break;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    default: *value = 0;
  }
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (check_device(device)) return cudaErrorInvalidDevice;
  alexnet_emu::current_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = alexnet_emu::current_device;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  auto& d = devices();
  std::lock_guard<std::mutex> lock(d.mutex);
  *total_bytes = d.capacity;
  *free_bytes = d.capacity - d.used[size_t(alexnet_emu::current_device)];
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  auto& d = devices();
  std::lock_guard<std::mutex> lock(d.mutex);
  const int dev = alexnet_emu::current_device;
  if (d.used[size_t(dev)] + bytes > d.capacity) return cudaErrorMemoryAllocation;
  // exactly `bytes`, not rounded, so that AddressSanitizer builds catch any overrun
  void* p = std::malloc(std::max<size_t>(1, bytes));
  if (!p) return cudaErrorMemoryAllocation;
  d.used[size_t(dev)] += bytes;
  d.allocations[p] = {dev, bytes};
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  auto& d = devices();
  std::lock_guard<std::mutex> lock(d.mutex);
  auto it = d.allocations.find(ptr);
  if (it == d.allocations.end()) return cudaErrorInvalidValue;
  d.used[size_t(it->second.first)] -= it->second.second;
  d.allocations.erase(it);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  *ptr = std::aligned_alloc(256, std::max<size_t>(256, (bytes + 255) / 256 * 256));
  return *ptr ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFreeHost(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}

cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device, size_t bytes,
                                cudaStream_t) {
  if (check_device(dst_device) || check_device(src_device)) return cudaErrorInvalidDevice;
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t) {
  std::memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
  static char token;
  *stream = reinterpret_cast<cudaStream_t>(&token);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned) {
  static char token;
  *event = reinterpret_cast<cudaEvent_t>(&token);
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaDeviceCanAccessPeer(int* can, int device, int peer) {
  if (check_device(device) || check_device(peer)) return cudaErrorInvalidDevice;
  *can = devices().peer && device != peer ? 1 : 0;
  return cudaSuccess;
}

cudaError_t cudaDeviceEnablePeerAccess(int peer, unsigned) {
  auto& d = devices();
  if (check_device(peer)) return cudaErrorInvalidDevice;
  std::lock_guard<std::mutex> lock(d.mutex);
  if (!d.peer) return cudaErrorInvalidDevice;
  if (!d.peers_enabled.insert({alexnet_emu::current_device, peer}).second) return cudaErrorPeerAccessAlreadyEnabled;
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = alexnet_emu::last_error;
  alexnet_emu::last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return alexnet_emu::last_error; }

const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorPeerAccessAlreadyEnabled: return "cudaErrorPeerAccessAlreadyEnabled";
    case cudaErrorPeerAccessNotEnabled: return "cudaErrorPeerAccessNotEnabled";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorPeerAccessAlreadyEnabled: return "peer access is already enabled";
    case cudaErrorPeerAccessNotEnabled: return "peer access has not been enabled";
    default: break;
  }
  // the emulator's own detail (which launch, which block) for launch errors
  return alexnet_emu::last_error_detail.empty() ? "unspecified emulator error" : alexnet_emu::last_error_detail.c_str();
}
