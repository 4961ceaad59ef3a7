// The communicator interface: the collectives data-parallel and hybrid training need, over an
// existing engine (MPI for host memory, NCCL for CUDA memory). Every call blocks the thread
// that makes it (native/comm/binding.cc runs them on one communication thread per
// communicator, never on the JavaScript thread) and throws CommError with a message naming
// the collective and the rank; a collective a rank never joins times out naming that rank.
//   allreduce:      data (count) summed (or averaged) over the ranks, in place
//   allgather:      send (count) from each rank -> recv (size * count), rank-major
//   reduce_scatter: send (size * count) summed over the ranks; rank r keeps block r in recv (count)
//   broadcast:      data (count) of `root` copied to every rank
#pragma once
#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace alexnet {
namespace comm {

class CommError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Reduce { Sum, Mean };

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /** rank among the processes of this machine (picks the GPU) */
  virtual int local_rank() const = 0;
  virtual std::string engine() const = 0;
  virtual void allreduce(float* data, int64_t count, Reduce op) = 0;
  /** one bucket: the parts reduced as one buffer (packed into a staging copy) */
  virtual void allreduce_many(const std::vector<std::pair<float*, int64_t>>& parts, Reduce op) {
    int64_t total = 0;
    for (const auto& p : parts) total += p.second;
    staging_.resize(size_t(total));
    int64_t at = 0;
    for (const auto& p : parts) {
      std::memcpy(staging_.data() + at, p.first, size_t(p.second) * sizeof(float));
      at += p.second;
    }
    allreduce(staging_.data(), total, op);
    at = 0;
    for (const auto& p : parts) {
      std::memcpy(p.first, staging_.data() + at, size_t(p.second) * sizeof(float));
      at += p.second;
    }
  }
  virtual void allgather(const float* send, float* recv, int64_t count) = 0;
  virtual void reduce_scatter(const float* send, float* recv, int64_t count) = 0;
  virtual void broadcast(float* data, int64_t count, int root) = 0;
  virtual void barrier() = 0;
  /** ends the job on every rank (after an unrecoverable error on this one) */
  virtual void abort(int code) = 0;
  virtual void close() = 0;

 protected:
  std::vector<float> staging_;
};

// Set (to an exit code) from the JavaScript thread by abort(); a collective waiting on the
// communication thread sees it and ends the job.
inline std::atomic<int>& abort_requested() {
  static std::atomic<int> code{-1};
  return code;
}

// What this build has: whether the MPI and NCCL engines were compiled in, their versions, and
// why not where they were not.
struct EngineInfo {
  bool built = false;
  std::string version;
  std::string reason;
};
EngineInfo mpi_info();
EngineInfo nccl_info();

// The engines. Both must be called on the communication thread that will make every later
// call (MPI is initialised with MPI_THREAD_FUNNELED). timeout_ms: how long a collective waits
// for the slowest rank before failing.
Communicator* open_mpi(double timeout_ms);
// NCCL over CUDA memory: one rank per GPU (local rank picks the device); the unique id is
// broadcast over `bootstrap` (an MPI communicator this one keeps using for barriers).
Communicator* open_nccl(Communicator* bootstrap, double timeout_ms);

}  // namespace comm
}  // namespace alexnet
