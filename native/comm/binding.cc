// The communicator as one small JS object: new Communicator('mpi' | 'nccl', timeoutMs), then
// open(), allreduce([buffers], mean), allgather(send, recv), reduceScatter(send, recv),
// broadcast(buffer, root), barrier(), close(): each returns a promise. Every call runs on the
// communicator's own thread, in the order it was made (every rank must make the same calls in
// the same order, so a thread pool that could reorder them would deadlock), never on the
// JavaScript thread; a collective's promise resolves to the seconds it took on that thread.
// abort(code) ends the job on every rank, even from inside a collective.
#include <napi.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#include "../binding/buffer.h"
#include "comm.h"

namespace alexnet {
namespace {

struct Job {
  std::string what;
  std::function<void()> run;
  std::string error;
  Napi::Promise::Deferred deferred;
  std::vector<Napi::ObjectReference> keep;  // the buffers, alive until the collective is done
  bool open = false;
  double seconds = 0;  // how long the collective took on the communication thread
  explicit Job(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

struct Span {
  float* data;
  int64_t count;
};

class CommObject : public Napi::ObjectWrap<CommObject> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Communicator", {
      InstanceMethod("open", &CommObject::Open),
      InstanceMethod("allreduce", &CommObject::Allreduce),
      InstanceMethod("allgather", &CommObject::Allgather),
      InstanceMethod("reduceScatter", &CommObject::ReduceScatter),
      InstanceMethod("broadcast", &CommObject::Broadcast),
      InstanceMethod("barrier", &CommObject::Barrier),
      InstanceMethod("abort", &CommObject::Abort),
      InstanceMethod("close", &CommObject::Close),
    });
  }

  explicit CommObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CommObject>(info) {
    Napi::Env env = info.Env();
    const std::string engine = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (engine != "mpi" && engine != "nccl")
      throw Napi::TypeError::New(env, "Communicator: engine must be 'mpi' or 'nccl'");
    engine_ = engine;
    timeout_ms_ = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "alexnet-comm", 0, 1);
    tsfn_.Unref(env);
    thread_ = std::thread([this] { Loop(); });
  }

  ~CommObject() override { Stop(); }

 private:
  // The communication thread: runs the jobs in order; an abort request ends the job.
  void Loop() {
    for (;;) {
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || abort_code_ >= 0 || !queue_.empty(); });
        if (abort_code_ >= 0) DoAbort();
        if (queue_.empty() && stop_) break;
        job = queue_.front();
        queue_.pop_front();
      }
      const auto start = std::chrono::steady_clock::now();
      try {
        job->run();
      } catch (const std::exception& e) {
        job->error = e.what();
      }
      job->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (abort_code_ >= 0) DoAbort();
      tsfn_.BlockingCall(job, [this](Napi::Env env, Napi::Function, Job* j) { Finish(env, j); });
    }
    if (comm_) {
      try { comm_->close(); } catch (...) {}
    }
    tsfn_.Release();
  }

  void DoAbort() {
    if (comm_) comm_->abort(abort_code_);
    std::_Exit(abort_code_);  // no communicator (yet): this rank alone
  }

  void Finish(Napi::Env env, Job* j) {
    std::unique_ptr<Job> owned(j);
    if (--pending_ == 0) tsfn_.Unref(env);
    if (!j->error.empty()) {
      j->deferred.Reject(Napi::Error::New(env, j->error).Value());
      return;
    }
    if (j->open) {
      Napi::Object o = Napi::Object::New(env);
      o["rank"] = comm_->rank();
      o["size"] = comm_->size();
      o["localRank"] = comm_->local_rank();
      o["engine"] = comm_->engine();
      j->deferred.Resolve(o);
    } else {
      j->deferred.Resolve(Napi::Number::New(env, j->seconds));
    }
  }

  Napi::Value Submit(Napi::Env env, std::unique_ptr<Job> job) {
    Napi::Promise promise = job->deferred.Promise();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_) throw Napi::Error::New(env, job->what + ": the communicator is closed");
      if (pending_++ == 0) tsfn_.Ref(env);
      queue_.push_back(job.release());
    }
    cv_.notify_one();
    return promise;
  }

  std::string Where() const {
    return comm_ ? " on rank " + std::to_string(comm_->rank()) : "";
  }

  // A buffer argument of the communicator's kind of memory.
  Span Buffer(const Napi::CallbackInfo& info, size_t i, const std::string& what, Job& job) {
    Napi::Env env = info.Env();
    if (!NativeBuffer::IsInstance(env, info[i]))
      throw Napi::TypeError::New(env, what + Where() + ": argument " + std::to_string(i) + " must be a tensor's buffer");
    Napi::Object obj = info[i].As<Napi::Object>();
    NativeBuffer* b = NativeBuffer::Unwrap(obj);
    if (b->freed()) throw Napi::Error::New(env, what + Where() + ": a tensor was already disposed");
    const bool host = b->backend().memory->host;
    if (engine_ == "mpi" && !host)
      throw Napi::TypeError::New(env, what + Where() + ": the MPI communicator takes CPU tensors, got one on " + b->device_name() + " (CUDA tensors go over NCCL)");
    if (engine_ == "nccl" && host)
      throw Napi::TypeError::New(env, what + Where() + ": the NCCL communicator takes CUDA tensors, got one on the CPU");
    job.keep.push_back(Napi::Persistent(obj));
    return {b->data(), b->count()};
  }

  comm::Communicator& Comm(const std::string& what) {
    if (!comm_) throw comm::CommError(what + ": the communicator is not open");
    return *comm_;
  }

  Napi::Value Open(const Napi::CallbackInfo& info) {
    auto job = std::make_unique<Job>(info.Env());
    job->what = "open";
    job->open = true;
    job->run = [this] {
      if (comm_) throw comm::CommError("open: already open");
      if (engine_ == "mpi") {
        comm_.reset(comm::open_mpi(timeout_ms_));
      } else {
        bootstrap_.reset(comm::open_mpi(timeout_ms_));
        comm_.reset(comm::open_nccl(bootstrap_.get(), timeout_ms_));
      }
    };
    return Submit(info.Env(), std::move(job));
  }

  // allreduce(buffers, mean): one bucket, summed (or averaged) in one collective.
  Napi::Value Allreduce(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto job = std::make_unique<Job>(env);
    job->what = "allreduce";
    if (!info[0].IsArray() || info[0].As<Napi::Array>().Length() == 0)
      throw Napi::TypeError::New(env, "allreduce" + Where() + ": expects a non-empty array of tensor buffers");
    Napi::Array list = info[0].As<Napi::Array>();
    std::vector<Span> spans;
    for (uint32_t k = 0; k < list.Length(); ++k) {
      Napi::Value v = list[k];
      if (!NativeBuffer::IsInstance(env, v)) throw Napi::TypeError::New(env, "allreduce" + Where() + ": element " + std::to_string(k) + " is not a tensor buffer");
      NativeBuffer* b = NativeBuffer::Unwrap(v.As<Napi::Object>());
      if (b->freed()) throw Napi::Error::New(env, "allreduce" + Where() + ": a tensor was already disposed");
      const bool host = b->backend().memory->host;
      if ((engine_ == "mpi") != host)
        throw Napi::TypeError::New(env, "allreduce" + Where() + ": the " + engine_ + " communicator cannot reduce a tensor on " + b->device_name());
      job->keep.push_back(Napi::Persistent(v.As<Napi::Object>()));
      spans.push_back({b->data(), b->count()});
    }
    const comm::Reduce op = info[1].ToBoolean().Value() ? comm::Reduce::Mean : comm::Reduce::Sum;
    job->run = [this, spans, op] {
      comm::Communicator& c = Comm("allreduce");
      if (spans.size() == 1) return c.allreduce(spans[0].data, spans[0].count, op);
      std::vector<std::pair<float*, int64_t>> parts;
      for (const Span& s : spans) parts.emplace_back(s.data, s.count);
      c.allreduce_many(parts, op);
    };
    return Submit(env, std::move(job));
  }

  Napi::Value Allgather(const Napi::CallbackInfo& info) {
    auto job = std::make_unique<Job>(info.Env());
    job->what = "allgather";
    const Span send = Buffer(info, 0, "allgather", *job), recv = Buffer(info, 1, "allgather", *job);
    job->run = [this, send, recv] {
      comm::Communicator& c = Comm("allgather");
      if (recv.count != send.count * c.size())
        throw comm::CommError("allgather on rank " + std::to_string(c.rank()) + ": recv holds " + std::to_string(recv.count) + " elements, not size x send = " + std::to_string(send.count * c.size()));
      c.allgather(send.data, recv.data, send.count);
    };
    return Submit(info.Env(), std::move(job));
  }

  Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
    auto job = std::make_unique<Job>(info.Env());
    job->what = "reduce-scatter";
    const Span send = Buffer(info, 0, "reduce-scatter", *job), recv = Buffer(info, 1, "reduce-scatter", *job);
    job->run = [this, send, recv] {
      comm::Communicator& c = Comm("reduce-scatter");
      if (send.count != recv.count * c.size())
        throw comm::CommError("reduce-scatter on rank " + std::to_string(c.rank()) + ": send holds " + std::to_string(send.count) + " elements, not size x recv = " + std::to_string(recv.count * c.size()));
      c.reduce_scatter(send.data, recv.data, recv.count);
    };
    return Submit(info.Env(), std::move(job));
  }

  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    auto job = std::make_unique<Job>(info.Env());
    job->what = "broadcast";
    const Span buf = Buffer(info, 0, "broadcast", *job);
    const int root = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
    job->run = [this, buf, root] { Comm("broadcast").broadcast(buf.data, buf.count, root); };
    return Submit(info.Env(), std::move(job));
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    auto job = std::make_unique<Job>(info.Env());
    job->what = "barrier";
    job->run = [this] { Comm("barrier").barrier(); };
    return Submit(info.Env(), std::move(job));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    auto job = std::make_unique<Job>(info.Env());
    job->what = "close";
    job->run = [this] {
      if (comm_) comm_->close();
      if (bootstrap_) bootstrap_->close();
    };
    Napi::Value p = Submit(info.Env(), std::move(job));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_one();
    return p;
  }

  // abort(code): every rank ends with `code` (through MPI_Abort), whatever this thread is doing.
  void Abort(const Napi::CallbackInfo& info) {
    const int code = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      abort_code_ = code < 0 ? 1 : code;
    }
    comm::abort_requested() = abort_code_.load();
    cv_.notify_one();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  std::string engine_;
  double timeout_ms_ = 0;
  std::unique_ptr<comm::Communicator> comm_, bootstrap_;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  bool stop_ = false;
  std::atomic<int> abort_code_{-1};
  int pending_ = 0;  // JS thread only
};

Napi::Object EngineObject(Napi::Env env, const comm::EngineInfo& i) {
  Napi::Object o = Napi::Object::New(env);
  o["built"] = i.built;
  o["version"] = i.version;
  o["reason"] = i.reason;
  return o;
}

Napi::Value CommInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o["mpi"] = EngineObject(info.Env(), comm::mpi_info());
  o["nccl"] = EngineObject(info.Env(), comm::nccl_info());
  return o;
}

}  // namespace

void RegisterComm(Napi::Env env, Napi::Object exports) {
  exports["Communicator"] = CommObject::Define(env);
  exports["commInfo"] = Napi::Function::New(env, CommInfo);
}

}  // namespace alexnet
