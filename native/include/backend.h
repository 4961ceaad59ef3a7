// A backend is one table: its ops and the memory they work on. The binding keeps a Backend
// per device kind (native/binding/backends.cc, the one registration) and calls every
// allocation, read, write, copy and op through the tensor's one. A new backend is a folder
// that fills a Backend and a line in that registration; an engine on another backend's
// memory (cuDNN on CUDA memory) copies that backend's table, sharing its Memory, and replaces
// the ops it does better. Pointers are memory of the backend's device, except softmax's
// labels, which are host memory on every backend. Shapes are in the parameter structs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include "params.h"

namespace alexnet {

// The ops, with the meaning and shapes of op_signatures.h (each backend declares those
// functions in its own namespace and lists them here with ALEXNET_OPS_TABLE).
struct Ops {
  void (*conv2d_forward)(const ConvParams&, const float* x, const float* w, const float* b, float* y);
  void (*conv2d_backward_data)(const ConvParams&, const float* dy, const float* w, float* dx);
  void (*conv2d_backward_filter)(const ConvParams&, const float* x, const float* dy, float* dw, float* db);
  void (*lrn_forward)(const LrnParams&, const float* x, float* y);
  void (*lrn_backward)(const LrnParams&, const float* x, const float* dy, float* dx);
  void (*maxpool_forward)(const PoolParams&, const float* x, float* y);
  void (*maxpool_backward)(const PoolParams&, const float* x, const float* y, const float* dy, float* dx);
  void (*linear_forward)(const LinearParams&, const float* x, const float* w, const float* b, float* y);
  void (*linear_backward_data)(const LinearParams&, const float* dy, const float* w, float* dx);
  void (*linear_backward_params)(const LinearParams&, const float* x, const float* dy, float* dw, float* db);
  void (*relu_forward)(int64_t count, const float* x, float* y);
  void (*relu_backward)(int64_t count, const float* y, const float* dy, float* dx);
  void (*tanh_forward)(int64_t count, const float* x, float* y);
  void (*tanh_backward)(int64_t count, const float* y, const float* dy, float* dx);
  void (*dropout_forward_train)(const DropoutParams&, const float* x, float* y, float* mask);
  void (*dropout_forward_eval)(const DropoutParams&, const float* x, float* y);
  void (*dropout_backward)(const DropoutParams&, const float* dy, const float* mask, float* dx);
  double (*softmax_xent_forward)(const SoftmaxXentParams&, const float* logits, const int32_t* labels, float* probs);
  void (*softmax_xent_backward)(const SoftmaxXentParams&, const float* probs, const int32_t* labels, float scale,
                                float* dlogits);
  void (*sgd_update)(const SgdParams&, float* w, const float* dw, float* v);
  void (*fill_normal)(const NormalParams&, float* out);
  void (*copy)(int64_t count, const float* src, float* dst);
  void (*fill)(int64_t count, float value, float* dst);
  void (*add)(int64_t count, const float* a, const float* b, float* out);
  void (*gemm)(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
               const float* b, int ldb, float beta, float* c, int ldc);
};

// An Ops table of the functions of the enclosing backend namespace.
#define ALEXNET_OPS_TABLE                                                                          \
  {                                                                                                \
    conv2d_forward, conv2d_backward_data, conv2d_backward_filter, lrn_forward, lrn_backward,       \
        maxpool_forward, maxpool_backward, linear_forward, linear_backward_data,                   \
        linear_backward_params, relu_forward, relu_backward, tanh_forward, tanh_backward,          \
        dropout_forward_train, dropout_forward_eval, dropout_backward, softmax_xent_forward,       \
        softmax_xent_backward, sgd_update, fill_normal, copy, fill, add, gemm,                     \
  }

// One kind of memory and its devices (`device` is the index in "cuda:1"; host memory has
// one device and ignores it). Failures throw: std::bad_alloc where host memory runs out,
// another std::exception saying what failed otherwise.
struct Memory {
  bool host;  // the pointers are host memory
  float* (*allocate)(int device, size_t count);
  void (*free)(int device, float* data);  // never throws
  // to and from host memory; read returns once the data is there, write may return earlier
  // (the device-side write stays ordered before the device's later work)
  void (*read)(int device, const float* src, float* host_dst, int64_t count);
  void (*write)(int device, const float* host_src, float* dst, int64_t count);
  // between two devices of this memory, or within one
  void (*copy)(int src_device, const float* src, int dst_device, float* dst, int64_t count);
  void (*synchronize)(int device);  // waits for the work queued on the device
  size_t (*cached_bytes)();         // freed memory kept for reuse, every device
  void (*release_cached)();         // gives it back to the system
};

struct Backend {
  const char* name;      // the device kind: "cpu", "cuda", "cudnn"
  const Memory* memory;  // shared by every backend on the same memory
  // Makes `device` the one the ops that follow on this thread run on.
  void (*select)(int device);
  // The CPU's built-in blocked GEMM (what runs where no CBLAS was found), for the tests to
  // compare against the BLAS; null on the other backends.
  void (*builtin_gemm)(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                       const float* b, int ldb, float beta, float* c, int ldc);
  Ops ops;
};

// Copies `count` floats between any two devices: within one memory by its own copy, between
// host memory and a device by the device's read or write, and between two other memories
// (no pair of today's backends) through host memory.
inline void copy_between(const Backend& from, int from_device, const float* src, const Backend& to, int to_device,
                         float* dst, int64_t count) {
  const Memory& a = *from.memory;
  const Memory& b = *to.memory;
  if (&a == &b) {
    a.copy(from_device, src, to_device, dst, count);
  } else if (a.host) {
    b.write(to_device, src, dst, count);
  } else if (b.host) {
    a.read(from_device, src, dst, count);
  } else {
    std::vector<float> staging(static_cast<size_t>(count));
    a.read(from_device, src, staging.data(), count);
    b.write(to_device, staging.data(), dst, count);
    b.synchronize(to_device);  // the staging buffer dies here
  }
}

// What a backend reports about itself for info(): named values, in order. A list holds one
// report per item (a CUDA device, say).
struct Report {
  struct Entry;
  std::vector<Entry> entries;
  void flag(const char* key, bool value);
  void number(const char* key, double value);
  void text(const char* key, std::string value);
  void list(const char* key, std::vector<Report> items);
};

struct Report::Entry {
  enum Kind { Flag, Number, Text, List };
  std::string key;
  Kind kind;
  bool flag = false;
  double number = 0;
  std::string text = {};
  std::vector<Report> items = {};
};

inline void Report::flag(const char* key, bool value) { entries.push_back({key, Entry::Flag, value}); }
inline void Report::number(const char* key, double value) { entries.push_back({key, Entry::Number, false, value}); }
inline void Report::text(const char* key, std::string value) {
  entries.push_back({key, Entry::Text, false, 0, std::move(value)});
}
inline void Report::list(const char* key, std::vector<Report> items) {
  entries.push_back({key, Entry::List, false, 0, {}, std::move(items)});
}

}  // namespace alexnet
