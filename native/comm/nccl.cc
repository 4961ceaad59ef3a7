// The NCCL communicator (CUDA memory), one rank per GPU: the local rank picks the device, rank
// 0's unique id goes to the others over MPI. libnccl.so.2 is opened with dlopen, so that the
// addon loads (and the MPI engine works) where NCCL is absent; nccl_info() says why not.
// Collectives run on a stream of their own that first waits for the ops' stream, and are
// waited on with a deadline; at a timeout the NCCL communicator is aborted and an MPI
// barrier (which names ranks that never join) tells which rank is missing.
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <nccl.h>
#include <chrono>
#include <cstdlib>
#include <thread>
#include "comm.h"

namespace alexnet {
namespace cuda {
cudaStream_t compute_stream(int index);
}

namespace comm {
namespace {

struct NcclLib {
  void* handle = nullptr;
  std::string error;
  decltype(&ncclGetVersion) getVersion = nullptr;
  decltype(&ncclGetUniqueId) getUniqueId = nullptr;
  decltype(&ncclCommInitRank) commInitRank = nullptr;
  decltype(&ncclCommDestroy) commDestroy = nullptr;
  decltype(&ncclCommAbort) commAbort = nullptr;
  decltype(&ncclCommGetAsyncError) commGetAsyncError = nullptr;
  decltype(&ncclGetErrorString) getErrorString = nullptr;
  decltype(&ncclAllReduce) allReduce = nullptr;
  decltype(&ncclAllGather) allGather = nullptr;
  decltype(&ncclReduceScatter) reduceScatter = nullptr;
  decltype(&ncclBroadcast) broadcast = nullptr;
  decltype(&ncclGroupStart) groupStart = nullptr;
  decltype(&ncclGroupEnd) groupEnd = nullptr;
};

template <typename F>
void resolve(NcclLib& l, F& f, const char* name) {
  f = reinterpret_cast<F>(dlsym(l.handle, name));
  if (!f && l.error.empty()) l.error = std::string("libnccl.so.2 lacks ") + name;
}

// NCCL_ROOT/lib, the folder it was found in at build time, then the loader's search path.
const NcclLib& nccl() {
  static const NcclLib lib = [] {
    NcclLib l;
    std::vector<std::string> tries;
    if (const char* root = std::getenv("NCCL_ROOT")) tries.push_back(std::string(root) + "/lib/libnccl.so.2");
#ifdef ALEXNET_NCCL_LIBRARY_DIR
    tries.push_back(std::string(ALEXNET_NCCL_LIBRARY_DIR) + "/libnccl.so.2");
#endif
    tries.push_back("libnccl.so.2");
    std::string errors;
    for (const std::string& t : tries) {
      l.handle = dlopen(t.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (l.handle) break;
      errors += (errors.empty() ? "" : "; ") + std::string(dlerror());
    }
    if (!l.handle) {
      l.error = "libnccl.so.2 not found (" + errors + "): install NVIDIA's NCCL or set NCCL_ROOT";
      return l;
    }
    resolve(l, l.getVersion, "ncclGetVersion");
    resolve(l, l.getUniqueId, "ncclGetUniqueId");
    resolve(l, l.commInitRank, "ncclCommInitRank");
    resolve(l, l.commDestroy, "ncclCommDestroy");
    resolve(l, l.commAbort, "ncclCommAbort");
    resolve(l, l.commGetAsyncError, "ncclCommGetAsyncError");
    resolve(l, l.getErrorString, "ncclGetErrorString");
    resolve(l, l.allReduce, "ncclAllReduce");
    resolve(l, l.allGather, "ncclAllGather");
    resolve(l, l.reduceScatter, "ncclReduceScatter");
    resolve(l, l.broadcast, "ncclBroadcast");
    resolve(l, l.groupStart, "ncclGroupStart");
    resolve(l, l.groupEnd, "ncclGroupEnd");
    return l;
  }();
  return lib;
}

class NcclComm : public Communicator {
 public:
  NcclComm(Communicator* boot, double timeout_ms) : boot_(boot), timeout_ms_(timeout_ms) {
    const NcclLib& l = nccl();
    rank_ = boot->rank();
    size_ = boot->size();
    local_rank_ = boot->local_rank();
    if (!l.error.empty()) throw CommError("open on rank " + std::to_string(rank_) + ": " + l.error);
    int devices = 0;
    cuda_check("open", cudaGetDeviceCount(&devices));
    if (local_rank_ >= devices)
      throw CommError("open on rank " + std::to_string(rank_) + ": local rank " + std::to_string(local_rank_) + " has no GPU of its own (this machine has " +
                      std::to_string(devices) + "): start one rank per GPU");
    device_ = local_rank_;
    cuda_check("open", cudaSetDevice(device_));
    ncclUniqueId id;
    static_assert(sizeof(id) % sizeof(float) == 0, "the unique id travels as floats");
    if (rank_ == 0) nccl_check("open", l.getUniqueId(&id));
    boot->broadcast(reinterpret_cast<float*>(&id), int64_t(sizeof(id) / sizeof(float)), 0);
    cuda_check("open", cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    cuda_check("open", cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    nccl_check("open", l.commInitRank(&comm_, size_, id, rank_));
  }

  ~NcclComm() override { close(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string engine() const override { return "nccl"; }

  void allreduce(float* data, int64_t count, Reduce op) override {
    begin("allreduce");
    nccl_check("allreduce", nccl().allReduce(data, data, size_t(count), ncclFloat, op == Reduce::Mean ? ncclAvg : ncclSum, comm_, stream_));
    wait("allreduce");
  }

  // NCCL fuses the calls of a group itself: no staging copy.
  void allreduce_many(const std::vector<std::pair<float*, int64_t>>& parts, Reduce op) override {
    begin("allreduce");
    nccl_check("allreduce", nccl().groupStart());
    for (const auto& p : parts)
      nccl_check("allreduce", nccl().allReduce(p.first, p.first, size_t(p.second), ncclFloat, op == Reduce::Mean ? ncclAvg : ncclSum, comm_, stream_));
    nccl_check("allreduce", nccl().groupEnd());
    wait("allreduce");
  }

  void allgather(const float* send, float* recv, int64_t count) override {
    begin("allgather");
    nccl_check("allgather", nccl().allGather(send, recv, size_t(count), ncclFloat, comm_, stream_));
    wait("allgather");
  }

  void reduce_scatter(const float* send, float* recv, int64_t count) override {
    begin("reduce-scatter");
    nccl_check("reduce-scatter", nccl().reduceScatter(send, recv, size_t(count), ncclFloat, ncclSum, comm_, stream_));
    wait("reduce-scatter");
  }

  void broadcast(float* data, int64_t count, int root) override {
    begin("broadcast");
    nccl_check("broadcast", nccl().broadcast(data, data, size_t(count), ncclFloat, root, comm_, stream_));
    wait("broadcast");
  }

  void barrier() override { boot_->barrier(); }

  void abort(int code) override {
    if (comm_) nccl().commAbort(comm_);
    comm_ = nullptr;
    boot_->abort(code);
  }

  void close() override {
    if (comm_) nccl().commDestroy(comm_);
    comm_ = nullptr;
    if (ready_) cudaEventDestroy(ready_);
    ready_ = nullptr;
    if (stream_) cudaStreamDestroy(stream_);
    stream_ = nullptr;
  }

 private:
  std::string on() const { return " on rank " + std::to_string(rank_) + " (cuda:" + std::to_string(device_) + ")"; }

  void cuda_check(const char* what, cudaError_t err) {
    if (err != cudaSuccess) throw CommError(std::string(what) + on() + ": " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
  }

  void nccl_check(const char* what, ncclResult_t r) {
    if (r != ncclSuccess) throw CommError(std::string(what) + on() + ": NCCL: " + nccl().getErrorString(r));
  }

  // The collective's stream waits for what the ops have queued so far (the gradients).
  void begin(const char* what) {
    if (!comm_) throw CommError(std::string(what) + on() + ": the communicator is closed or was aborted");
    cuda_check(what, cudaSetDevice(device_));
    cuda_check(what, cudaEventRecord(ready_, cuda::compute_stream(device_)));
    cuda_check(what, cudaStreamWaitEvent(stream_, ready_, 0));
  }

  void wait(const char* what) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    for (int spins = 0;; ++spins) {
      const cudaError_t q = cudaStreamQuery(stream_);
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) cuda_check(what, q);
      ncclResult_t async = ncclSuccess;
      nccl().commGetAsyncError(comm_, &async);
      if (async != ncclSuccess) {
        nccl().commAbort(comm_);
        comm_ = nullptr;
        throw CommError(std::string(what) + on() + ": NCCL: " + nccl().getErrorString(async));
      }
      if (abort_requested() >= 0) abort(abort_requested());
      const double waited = std::chrono::duration<double, std::milli>(clock::now() - start).count();
      if (timeout_ms_ > 0 && waited > timeout_ms_) {
        nccl().commAbort(comm_);
        comm_ = nullptr;
        std::string why;
        try {
          boot_->barrier();
          why = "every rank is alive (an MPI barrier completed)";
        } catch (const std::exception& e) {
          why = e.what();
        }
        throw CommError(std::string(what) + on() + " timed out after " + std::to_string(int(waited / 1000)) + " s; " + why);
      }
      if (spins < 200) std::this_thread::yield();
      else std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  Communicator* boot_;
  double timeout_ms_;
  int rank_ = 0, size_ = 1, local_rank_ = 0, device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;
};

}  // namespace

EngineInfo nccl_info() {
  EngineInfo i;
  i.built = true;
  const NcclLib& l = nccl();
  if (!l.error.empty()) {
    i.reason = l.error;
    return i;
  }
  int v = 0;
  l.getVersion(&v);
  // NCCL >= 2.9 encodes major * 10000 + minor * 100 + patch
  i.version = std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  return i;
}

Communicator* open_nccl(Communicator* bootstrap, double timeout_ms) { return new NcclComm(bootstrap, timeout_ms); }

}  // namespace comm
}  // namespace alexnet
