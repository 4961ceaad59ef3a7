// The MPI communicator (host memory). Every collective is started non-blocking and waited on
// with a deadline, so that a rank that never joins makes the others fail with its name
// instead of hanging: at the start of each collective every rank sends its collective number
// to every other rank on a duplicate communicator (a few bytes, eager), and a rank that times
// out names the ranks whose last announced number is behind its own.
#include <mpi.h>
#include <dlfcn.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <thread>
#include <vector>
#include "comm.h"

namespace alexnet {
namespace comm {

EngineInfo mpi_info() {
  EngineInfo i;
  i.built = true;
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(version, &len);
  std::string v(version, size_t(len));
  const size_t cut = v.find_first_of(",\n");
  i.version = cut == std::string::npos ? v : v.substr(0, cut);
  return i;
}

namespace {

std::string mpi_error(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  return std::string(text, size_t(len));
}

// Node loads addons with RTLD_LOCAL; Open MPI's plugins expect libmpi's symbols to be global.
void promote_libmpi() {
  Dl_info where;
  if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &where) && where.dli_fname)
    dlopen(where.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
}

class MpiComm : public Communicator {
 public:
  explicit MpiComm(double timeout_ms) : timeout_ms_(timeout_ms) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) throw CommError("open: MPI is already initialised in this process (one communicator per process)");
    promote_libmpi();
    int provided = 0;
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) throw CommError("open: MPI_Init_thread failed: " + mpi_error(rc));
    MPI_Comm_dup(MPI_COMM_WORLD, &world_);
    MPI_Comm_dup(MPI_COMM_WORLD, &notes_);
    MPI_Comm_set_errhandler(world_, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(notes_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(world_, &rank_);
    MPI_Comm_size(world_, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(world_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_free(&node);
    seen_.assign(size_t(size_), 0);
    note_out_.assign(size_t(size_), 0);
    note_in_.assign(size_t(size_), 0);
    send_req_.assign(size_t(size_), MPI_REQUEST_NULL);
    recv_req_.assign(size_t(size_), MPI_REQUEST_NULL);
    for (int p = 0; p < size_; ++p)
      if (p != rank_) post_receive(p);
  }

  ~MpiComm() override { close(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string engine() const override { return "mpi"; }

  void allreduce(float* data, int64_t count, Reduce op) override {
    const char* what = "allreduce";
    // MPI counts are ints: larger buffers go in chunks, each its own collective
    for (int64_t at = 0; at < count || (count == 0 && at == 0); at += INT_MAX) {
      const int n = int(std::min<int64_t>(INT_MAX, count - at));
      MPI_Request req;
      begin(what);
      check(what, MPI_Iallreduce(MPI_IN_PLACE, data + at, n, MPI_FLOAT, MPI_SUM, world_, &req));
      wait(what, &req);
      if (count == 0) break;
    }
    if (op == Reduce::Mean) {
      const float scale = 1.0f / float(size_);
      for (int64_t i = 0; i < count; ++i) data[i] *= scale;
    }
  }

  void allgather(const float* send, float* recv, int64_t count) override {
    const char* what = "allgather";
    fits(what, count * size_);
    MPI_Request req;
    begin(what);
    check(what, MPI_Iallgather(send, int(count), MPI_FLOAT, recv, int(count), MPI_FLOAT, world_, &req));
    wait(what, &req);
  }

  void reduce_scatter(const float* send, float* recv, int64_t count) override {
    const char* what = "reduce-scatter";
    fits(what, count * size_);
    MPI_Request req;
    begin(what);
    check(what, MPI_Ireduce_scatter_block(send, recv, int(count), MPI_FLOAT, MPI_SUM, world_, &req));
    wait(what, &req);
  }

  void broadcast(float* data, int64_t count, int root) override {
    const char* what = "broadcast";
    if (root < 0 || root >= size_)
      throw CommError(std::string(what) + " on rank " + std::to_string(rank_) + ": root " + std::to_string(root) + " is not a rank of " + std::to_string(size_));
    fits(what, count);
    MPI_Request req;
    begin(what);
    check(what, MPI_Ibcast(data, int(count), MPI_FLOAT, root, world_, &req));
    wait(what, &req);
  }

  void barrier() override {
    const char* what = "barrier";
    MPI_Request req;
    begin(what);
    check(what, MPI_Ibarrier(world_, &req));
    wait(what, &req);
  }

  void abort(int code) override { MPI_Abort(MPI_COMM_WORLD, code); }

  void close() override {
    if (closed_) return;
    closed_ = true;
    for (MPI_Request& r : recv_req_)
      if (r != MPI_REQUEST_NULL) {
        MPI_Cancel(&r);
        MPI_Request_free(&r);
      }
    for (MPI_Request& r : send_req_)
      if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
      // a communicator that timed out has collectives in flight: finalizing would wait for them
      if (!broken_.empty()) return;
      MPI_Comm_free(&notes_);
      MPI_Comm_free(&world_);
      MPI_Finalize();
    }
  }

 private:
  void check(const char* what, int rc) {
    if (rc != MPI_SUCCESS) fail(std::string(what) + " failed on rank " + std::to_string(rank_) + ": " + mpi_error(rc));
  }

  [[noreturn]] void fail(const std::string& message) {
    broken_ = message;
    throw CommError(message);
  }

  void fits(const char* what, int64_t count) {
    if (count > INT_MAX)
      throw CommError(std::string(what) + " on rank " + std::to_string(rank_) + ": " + std::to_string(count) + " elements is more than MPI's int count allows");
  }

  // Announces collective number seq_ + 1 to every other rank.
  void begin(const char* what) {
    if (closed_) throw CommError(std::string(what) + " on rank " + std::to_string(rank_) + ": the communicator is closed");
    if (!broken_.empty())
      throw CommError(std::string(what) + " on rank " + std::to_string(rank_) + ": the communicator is unusable after an earlier failure (" + broken_ + ")");
    ++seq_;
    for (int p = 0; p < size_; ++p) {
      if (p == rank_) continue;
      // a note still in flight (the peer is slow to drain) is simply not refreshed this time
      if (send_req_[size_t(p)] != MPI_REQUEST_NULL) {
        int done = 0;
        MPI_Test(&send_req_[size_t(p)], &done, MPI_STATUS_IGNORE);
        if (!done) continue;
      }
      note_out_[size_t(p)] = seq_;
      MPI_Isend(&note_out_[size_t(p)], 1, MPI_INT64_T, p, 0, notes_, &send_req_[size_t(p)]);
    }
    drain_notes();
  }

  void post_receive(int p) {
    MPI_Irecv(&note_in_[size_t(p)], 1, MPI_INT64_T, p, 0, notes_, &recv_req_[size_t(p)]);
  }

  void drain_notes() {
    for (int p = 0; p < size_; ++p) {
      if (p == rank_) continue;
      for (;;) {
        int done = 0;
        MPI_Test(&recv_req_[size_t(p)], &done, MPI_STATUS_IGNORE);
        if (!done) break;
        seen_[size_t(p)] = std::max(seen_[size_t(p)], note_in_[size_t(p)]);
        post_receive(p);
      }
    }
  }

  // Waits for req, letting MPI progress; after timeout_ms, fails naming the ranks that have
  // not reached this collective.
  void wait(const char* what, MPI_Request* req) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    for (int spins = 0;; ++spins) {
      int done = 0;
      MPI_Status status;
      check(what, MPI_Test(req, &done, &status));
      if (done) return;
      if (spins % 64 == 0) drain_notes();
      if (abort_requested() >= 0) MPI_Abort(MPI_COMM_WORLD, abort_requested());
      const double waited = std::chrono::duration<double, std::milli>(clock::now() - start).count();
      if (timeout_ms_ > 0 && waited > timeout_ms_) timed_out(what, waited);
      // a short spin for the fast case, then sleep: the ranks share the cores with the compute
      if (spins < 200) std::this_thread::yield();
      else std::this_thread::sleep_for(std::chrono::microseconds(spins < 2000 ? 50 : 500));
    }
  }

  [[noreturn]] void timed_out(const char* what, double waited_ms) {
    drain_notes();
    std::string missing, behind;
    for (int p = 0; p < size_; ++p) {
      if (p == rank_ || seen_[size_t(p)] >= seq_) continue;
      missing += (missing.empty() ? "" : ", ") + std::to_string(p);
      behind += (behind.empty() ? "" : ", ") + std::string("rank ") + std::to_string(p) + " is at #" + std::to_string(seen_[size_t(p)]);
    }
    char secs[32];
    snprintf(secs, sizeof secs, "%.1f", waited_ms / 1000);
    std::string m = std::string(what) + " #" + std::to_string(seq_) + " timed out after " + secs + " s on rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ": ";
    if (!missing.empty()) m += (missing.find(',') == std::string::npos ? "rank " : "ranks ") + missing + " never joined it (" + behind + "); it stopped or is stuck";
    else m += "every rank joined it but it did not complete (a rank may have died during it)";
    fail(m);
  }

  MPI_Comm world_ = MPI_COMM_NULL, notes_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  double timeout_ms_;
  int64_t seq_ = 0;
  std::vector<int64_t> seen_, note_out_, note_in_;
  std::vector<MPI_Request> send_req_, recv_req_;
  std::string broken_;
  bool closed_ = false;
};

}  // namespace

Communicator* open_mpi(double timeout_ms) { return new MpiComm(timeout_ms); }

}  // namespace comm
}  // namespace alexnet
