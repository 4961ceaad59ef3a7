// The op entry points: unpack tensors and parameter objects into the structs of params.h,
// re-check sizes so that no bad call can write out of bounds, and call the backend of the
// tensors' device. No math here; lib/ops.ts validates first and gives the friendly errors.
#include <napi.h>
#include <cmath>
#include <string>
#include "backend.h"
#include "backends.h"
#include "buffer.h"
#include "param_keys.h"
#include "philox.h"

namespace alexnet {

namespace {

struct Call {
  const Napi::CallbackInfo& info;
  const char* op;
  const Backend* be = nullptr;  // the first tensor's backend and device index
  int index = 0;
  bool have_device = false;
  std::string device = {};  // the first tensor's device, for messages

  Napi::Env env() const { return info.Env(); }

  [[noreturn]] void fail(const std::string& what) const {
    throw Napi::Error::New(env(), std::string(op) + ": " + what);
  }

  // Tensor argument i, which must hold exactly `count` elements (null allowed if optional).
  float* tensor(size_t i, const char* name, int64_t count, bool optional = false) {
    Napi::Value v = info[i];
    if (optional && (v.IsNull() || v.IsUndefined())) return nullptr;
    if (!NativeBuffer::IsInstance(env(), v)) fail(std::string("expected a tensor for ") + name);
    NativeBuffer* b = NativeBuffer::Unwrap(v.As<Napi::Object>());
    if (b->freed()) fail(std::string(name) + " was disposed");
    if (b->count() != count)
      fail(std::string("expected ") + std::to_string(count) + " elements for " + name + " but received " +
           std::to_string(b->count()));
    if (!have_device) {
      be = &b->backend();
      index = b->device_index();
      device = b->device_name();
      have_device = true;
    } else if (be != &b->backend() || index != b->device_index()) {
      fail(std::string(name) + " is on " + b->device_name() + " but the op's other tensors are on " + device);
    }
    return b->data();
  }

  Napi::Object params(size_t i) const {
    if (!info[i].IsObject()) fail("expected a parameter object");
    return info[i].As<Napi::Object>();
  }

  double number(const Napi::Object& p, const char* key) const {
    Napi::Value v = p.Get(key);
    if (!v.IsNumber()) fail(std::string("parameter ") + key + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) fail(std::string("parameter ") + key + " must be finite");
    return d;
  }

  int integer(const Napi::Object& p, const char* key, int min_value = 1) const {
    const double d = number(p, key);
    if (d != std::floor(d) || d < min_value || d > 2147483647.0)
      fail(std::string("parameter ") + key + " must be an integer >= " + std::to_string(min_value) +
           ", got " + std::to_string(d));
    return int(d);
  }

  uint64_t u64(const Napi::Object& p, const char* lo, const char* hi) const {
    return uint64_t(uint32_t(number(p, lo))) | (uint64_t(uint32_t(number(p, hi))) << 32);
  }

  // The ops of the tensors' backend, with their device selected.
  const Ops& backend() const {
    be->select(index);
    return be->ops;
  }

  // Runs a backend call; a failure (a CUDA error, out of memory) becomes a JavaScript Error
  // that starts with the op's name.
  template <class F>
  auto run(F&& f) const -> decltype(f()) {
    try {
      return f();
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      const std::string what = e.what();
      if (what.rfind(std::string(op) + ":", 0) == 0) throw Napi::Error::New(env(), what);
      fail(what);
    }
  }
};

// Argument i, a parameter object, read into P through its table.
template <class P>
P read_params(const Call& c, size_t i) {
  const Napi::Object o = c.params(i);
  P p{};
  for (const Key<P>& k : Keys<P>::keys) {
    switch (k.type) {
      case Key<P>::Integer: p.*k.integer = c.integer(o, k.name, k.min); break;
      case Key<P>::Number: p.*k.number = float(c.number(o, k.name)); break;
      case Key<P>::Uint64: p.*k.u64 = c.u64(o, k.name, k.hi_name); break;
      case Key<P>::Boolean: p.*k.flag = o.Get(k.name).ToBoolean(); break;
    }
  }
  return p;
}

// paramSchema()'s entry for P: { struct, keys: { key: 'integer' | 'number' | 'uint32' | 'boolean' } }.
template <class P>
Napi::Value schema(Napi::Env env) {
  Napi::Object keys = Napi::Object::New(env);
  for (const Key<P>& k : Keys<P>::keys) {
    switch (k.type) {
      case Key<P>::Integer: keys.Set(k.name, "integer"); break;
      case Key<P>::Number: keys.Set(k.name, "number"); break;
      case Key<P>::Uint64: keys.Set(k.name, "uint32"); keys.Set(k.hi_name, "uint32"); break;
      case Key<P>::Boolean: keys.Set(k.name, "boolean"); break;
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("struct", Keys<P>::name);
  out.Set("keys", keys);
  return out;
}

ConvParams conv_params(Call& c, size_t i) {
  ConvParams p = read_params<ConvParams>(c, i);
  if (p.c % p.groups || p.k % p.groups) c.fail("channels not divisible by groups");
  if (p.h + 2 * p.pad_h < p.kh || p.w + 2 * p.pad_w < p.kw) c.fail("kernel larger than the padded input");
  p.oh = output_size(p.h, p.kh, p.stride_h, p.pad_h);
  p.ow = output_size(p.w, p.kw, p.stride_w, p.pad_w);
  return p;
}

Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  Call c{info, "conv2d"};
  ConvParams p = conv_params(c, 4);
  const float* x = c.tensor(0, "x", conv_x_size(p));
  const float* w = c.tensor(1, "weight", conv_w_size(p));
  const float* b = c.tensor(2, "bias", p.k, true);
  float* y = c.tensor(3, "y", conv_y_size(p));
  c.run([&] { c.backend().conv2d_forward(p, x, w, b, y); });
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardData(const Napi::CallbackInfo& info) {
  Call c{info, "conv2dBackwardData"};
  ConvParams p = conv_params(c, 3);
  const float* dy = c.tensor(0, "dy", conv_y_size(p));
  const float* w = c.tensor(1, "weight", conv_w_size(p));
  float* dx = c.tensor(2, "dx", conv_x_size(p));
  c.run([&] { c.backend().conv2d_backward_data(p, dy, w, dx); });
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardFilter(const Napi::CallbackInfo& info) {
  Call c{info, "conv2dBackwardFilter"};
  ConvParams p = conv_params(c, 4);
  const float* x = c.tensor(0, "x", conv_x_size(p));
  const float* dy = c.tensor(1, "dy", conv_y_size(p));
  float* dw = c.tensor(2, "dweight", conv_w_size(p));
  float* db = c.tensor(3, "dbias", p.k, true);
  c.run([&] { c.backend().conv2d_backward_filter(p, x, dy, dw, db); });
  return info.Env().Undefined();
}

LrnParams lrn_params(Call& c, size_t i) {
  LrnParams p = read_params<LrnParams>(c, i);
  if (p.c % p.groups) c.fail("channels not divisible by groups");
  return p;
}

Napi::Value LrnForward(const Napi::CallbackInfo& info) {
  Call c{info, "lrn"};
  LrnParams p = lrn_params(c, 2);
  const float* x = c.tensor(0, "x", lrn_size(p));
  float* y = c.tensor(1, "y", lrn_size(p));
  c.run([&] { c.backend().lrn_forward(p, x, y); });
  return info.Env().Undefined();
}

Napi::Value LrnBackward(const Napi::CallbackInfo& info) {
  Call c{info, "lrnBackward"};
  LrnParams p = lrn_params(c, 3);
  const float* x = c.tensor(0, "x", lrn_size(p));
  const float* dy = c.tensor(1, "dy", lrn_size(p));
  float* dx = c.tensor(2, "dx", lrn_size(p));
  c.run([&] { c.backend().lrn_backward(p, x, dy, dx); });
  return info.Env().Undefined();
}

PoolParams pool_params(Call& c, size_t i) {
  PoolParams p = read_params<PoolParams>(c, i);
  if (p.pad_h >= p.kh || p.pad_w >= p.kw) c.fail("padding must be smaller than the window");
  if (p.h + 2 * p.pad_h < p.kh || p.w + 2 * p.pad_w < p.kw) c.fail("window larger than the padded input");
  p.oh = output_size(p.h, p.kh, p.stride_h, p.pad_h);
  p.ow = output_size(p.w, p.kw, p.stride_w, p.pad_w);
  return p;
}

Napi::Value MaxpoolForward(const Napi::CallbackInfo& info) {
  Call c{info, "maxpool"};
  PoolParams p = pool_params(c, 2);
  const float* x = c.tensor(0, "x", pool_x_size(p));
  float* y = c.tensor(1, "y", pool_y_size(p));
  c.run([&] { c.backend().maxpool_forward(p, x, y); });
  return info.Env().Undefined();
}

Napi::Value MaxpoolBackward(const Napi::CallbackInfo& info) {
  Call c{info, "maxpoolBackward"};
  PoolParams p = pool_params(c, 4);
  const float* x = c.tensor(0, "x", pool_x_size(p));
  const float* y = c.tensor(1, "y", pool_y_size(p));
  const float* dy = c.tensor(2, "dy", pool_y_size(p));
  float* dx = c.tensor(3, "dx", pool_x_size(p));
  c.run([&] { c.backend().maxpool_backward(p, x, y, dy, dx); });
  return info.Env().Undefined();
}

LinearParams linear_params(Call& c, size_t i) { return read_params<LinearParams>(c, i); }

Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  Call c{info, "linear"};
  LinearParams p = linear_params(c, 4);
  const float* x = c.tensor(0, "x", int64_t(p.n) * p.in);
  const float* w = c.tensor(1, "weight", int64_t(p.out) * p.in);
  const float* b = c.tensor(2, "bias", p.out, true);
  float* y = c.tensor(3, "y", int64_t(p.n) * p.out);
  c.run([&] { c.backend().linear_forward(p, x, w, b, y); });
  return info.Env().Undefined();
}

Napi::Value LinearBackwardData(const Napi::CallbackInfo& info) {
  Call c{info, "linearBackwardData"};
  LinearParams p = linear_params(c, 3);
  const float* dy = c.tensor(0, "dy", int64_t(p.n) * p.out);
  const float* w = c.tensor(1, "weight", int64_t(p.out) * p.in);
  float* dx = c.tensor(2, "dx", int64_t(p.n) * p.in);
  c.run([&] { c.backend().linear_backward_data(p, dy, w, dx); });
  return info.Env().Undefined();
}

Napi::Value LinearBackwardParams(const Napi::CallbackInfo& info) {
  Call c{info, "linearBackwardParams"};
  LinearParams p = linear_params(c, 4);
  const float* x = c.tensor(0, "x", int64_t(p.n) * p.in);
  const float* dy = c.tensor(1, "dy", int64_t(p.n) * p.out);
  float* dw = c.tensor(2, "dweight", int64_t(p.out) * p.in);
  float* db = c.tensor(3, "dbias", p.out, true);
  c.run([&] { c.backend().linear_backward_params(p, x, dy, dw, db); });
  return info.Env().Undefined();
}

int64_t count_of(Call& c, size_t i) {
  if (!NativeBuffer::IsInstance(c.env(), c.info[i])) c.fail("expected a tensor");
  return NativeBuffer::Unwrap(c.info[i].As<Napi::Object>())->count();
}

// (x, y) or (y, dy, dx): every tensor has the first one's element count.
template <void (*Ops::*F)(int64_t, const float*, float*)>
Napi::Value Unary(const Napi::CallbackInfo& info, const char* op) {
  Call c{info, op};
  const int64_t n = count_of(c, 0);
  const float* x = c.tensor(0, "x", n);
  float* y = c.tensor(1, "y", n);
  c.run([&] { (c.backend().*F)(n, x, y); });
  return info.Env().Undefined();
}

template <void (*Ops::*F)(int64_t, const float*, const float*, float*)>
Napi::Value UnaryBackward(const Napi::CallbackInfo& info, const char* op) {
  Call c{info, op};
  const int64_t n = count_of(c, 0);
  const float* y = c.tensor(0, "y", n);
  const float* dy = c.tensor(1, "dy", n);
  float* dx = c.tensor(2, "dx", n);
  c.run([&] { (c.backend().*F)(n, y, dy, dx); });
  return info.Env().Undefined();
}

Napi::Value ReluForward(const Napi::CallbackInfo& info) { return Unary<&Ops::relu_forward>(info, "relu"); }
Napi::Value ReluBackward(const Napi::CallbackInfo& info) { return UnaryBackward<&Ops::relu_backward>(info, "reluBackward"); }
Napi::Value TanhForward(const Napi::CallbackInfo& info) { return Unary<&Ops::tanh_forward>(info, "tanh"); }
Napi::Value TanhBackward(const Napi::CallbackInfo& info) { return UnaryBackward<&Ops::tanh_backward>(info, "tanhBackward"); }

DropoutParams dropout_params(Call& c, size_t i, int64_t count) {
  DropoutParams p = read_params<DropoutParams>(c, i);
  p.count = count;
  if (!(p.p >= 0.0f && p.p < 1.0f)) c.fail("parameter p must be in [0, 1)");
  return p;
}

Napi::Value DropoutForwardTrain(const Napi::CallbackInfo& info) {
  Call c{info, "dropout"};
  const int64_t n = count_of(c, 0);
  DropoutParams p = dropout_params(c, 3, n);
  const float* x = c.tensor(0, "x", n);
  float* y = c.tensor(1, "y", n);
  float* mask = c.tensor(2, "mask", n);
  c.run([&] { c.backend().dropout_forward_train(p, x, y, mask); });
  return info.Env().Undefined();
}

Napi::Value DropoutForwardEval(const Napi::CallbackInfo& info) {
  Call c{info, "dropout"};
  const int64_t n = count_of(c, 0);
  DropoutParams p = dropout_params(c, 2, n);
  const float* x = c.tensor(0, "x", n);
  float* y = c.tensor(1, "y", n);
  c.run([&] { c.backend().dropout_forward_eval(p, x, y); });
  return info.Env().Undefined();
}

Napi::Value DropoutBackward(const Napi::CallbackInfo& info) {
  Call c{info, "dropoutBackward"};
  const int64_t n = count_of(c, 0);
  DropoutParams p{n, 0.0f, 0, 0};
  const float* dy = c.tensor(0, "dy", n);
  const float* mask = c.tensor(1, "mask", n);
  float* dx = c.tensor(2, "dx", n);
  c.run([&] { c.backend().dropout_backward(p, dy, mask, dx); });
  return info.Env().Undefined();
}

const int32_t* labels_arg(Call& c, size_t i, const SoftmaxXentParams& p) {
  Napi::Value v = c.info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    c.fail("expected an Int32Array for labels");
  Napi::Int32Array labels = v.As<Napi::Int32Array>();
  if (int64_t(labels.ElementLength()) != p.n)
    c.fail("expected " + std::to_string(p.n) + " labels but received " + std::to_string(labels.ElementLength()));
  for (int n = 0; n < p.n; ++n)
    if (labels[n] < 0 || labels[n] >= p.classes)
      c.fail("label " + std::to_string(labels[n]) + " at index " + std::to_string(n) + " is outside [0, " +
             std::to_string(p.classes) + ")");
  return labels.Data();
}

SoftmaxXentParams xent_params(Call& c, size_t i) { return read_params<SoftmaxXentParams>(c, i); }

Napi::Value SoftmaxXentForward(const Napi::CallbackInfo& info) {
  Call c{info, "softmaxCrossEntropy"};
  SoftmaxXentParams p = xent_params(c, 3);
  const float* logits = c.tensor(0, "logits", int64_t(p.n) * p.classes);
  const int32_t* labels = labels_arg(c, 1, p);
  float* probs = c.tensor(2, "probs", int64_t(p.n) * p.classes);
  const double loss = c.run([&] { return c.backend().softmax_xent_forward(p, logits, labels, probs); });
  return Napi::Number::New(info.Env(), loss);
}

Napi::Value SoftmaxXentBackward(const Napi::CallbackInfo& info) {
  Call c{info, "softmaxCrossEntropyBackward"};
  const SoftmaxXentBackwardParams b = read_params<SoftmaxXentBackwardParams>(c, 3);
  const SoftmaxXentParams p{b.n, b.classes};
  const float scale = b.scale;
  const float* probs = c.tensor(0, "probs", int64_t(p.n) * p.classes);
  const int32_t* labels = labels_arg(c, 1, p);
  float* dlogits = c.tensor(2, "dlogits", int64_t(p.n) * p.classes);
  c.run([&] { c.backend().softmax_xent_backward(p, probs, labels, scale, dlogits); });
  return info.Env().Undefined();
}

Napi::Value SgdUpdate(const Napi::CallbackInfo& info) {
  Call c{info, "sgdUpdate"};
  const int64_t n = count_of(c, 0);
  SgdParams p = read_params<SgdParams>(c, 3);
  p.count = n;
  float* w = c.tensor(0, "weight", n);
  const float* dw = c.tensor(1, "grad", n);
  float* v = c.tensor(2, "velocity", n);
  c.run([&] { c.backend().sgd_update(p, w, dw, v); });
  return info.Env().Undefined();
}

Napi::Value FillNormal(const Napi::CallbackInfo& info) {
  Call c{info, "randn"};
  const int64_t n = count_of(c, 0);
  NormalParams p = read_params<NormalParams>(c, 1);
  p.count = n;
  float* out = c.tensor(0, "out", n);
  c.run([&] { c.backend().fill_normal(p, out); });
  return info.Env().Undefined();
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  Call c{info, "fill"};
  const int64_t n = count_of(c, 0);
  float* out = c.tensor(0, "out", n);
  if (!info[1].IsNumber()) c.fail("expected a number for value");
  c.run([&] { c.backend().fill(n, info[1].As<Napi::Number>().FloatValue(), out); });
  return info.Env().Undefined();
}

// add(a, b, out): out = a + b, all on one device with one element count.
Napi::Value Add(const Napi::CallbackInfo& info) {
  Call c{info, "add"};
  const int64_t n = count_of(c, 0);
  const float* a = c.tensor(0, "a", n);
  const float* b = c.tensor(1, "b", n);
  float* out = c.tensor(2, "out", n);
  c.run([&] { c.backend().add(n, a, b, out); });
  return info.Env().Undefined();
}

// copy(src, dst): between any two devices; both hold the same number of elements.
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Call c{info, "copy"};
  const int64_t n = count_of(c, 0);
  if (!NativeBuffer::IsInstance(c.env(), info[1])) c.fail("expected a tensor for dst");
  NativeBuffer* src = NativeBuffer::Unwrap(info[0].As<Napi::Object>());
  NativeBuffer* dst = NativeBuffer::Unwrap(info[1].As<Napi::Object>());
  if (src->freed() || dst->freed()) c.fail("a tensor was disposed");
  if (dst->count() != n)
    c.fail("expected " + std::to_string(n) + " elements for dst but received " + std::to_string(dst->count()));
  c.run([&] {
    copy_between(src->backend(), src->device_index(), src->data(), dst->backend(), dst->device_index(), dst->data(), n);
  });
  return info.Env().Undefined();
}

// gemm(a, b, c, {transA, transB, m, n, k, alpha, beta, builtin}): row-major, contiguous.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Call c{info, "gemm"};
  const GemmParams p = read_params<GemmParams>(c, 3);
  const int m = p.m, n = p.n, k = p.k;
  const bool ta = p.trans_a, tb = p.trans_b, builtin = p.builtin;
  const float alpha = p.alpha, beta = p.beta;
  const float* a = c.tensor(0, "a", int64_t(m) * k);
  const float* b = c.tensor(1, "b", int64_t(k) * n);
  float* out = c.tensor(2, "c", int64_t(m) * n);
  if (builtin && !c.be->builtin_gemm) c.fail("builtin selects the CPU's built-in GEMM; it needs cpu tensors");
  c.run([&] {
    auto f = builtin ? c.be->builtin_gemm : c.backend().gemm;
    f(ta, tb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, beta, out, n);
  });
  return info.Env().Undefined();
}

// synchronize(kind, index): waits until everything queued on that device has run (the
// benchmarks' clock; ops never need it, reads wait by themselves). A no-op for the cpu.
Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber())
    throw Napi::TypeError::New(info.Env(), "synchronize: expected (kind, index)");
  const std::string kind = info[0].As<Napi::String>();
  const Backend* backend = nullptr;
  try {
    backend = find_backend(kind);
    if (backend) backend->memory->synchronize(info[1].As<Napi::Number>().Int32Value());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("synchronize: ") + e.what());
  }
  if (!backend) throw Napi::TypeError::New(info.Env(), "synchronize: unknown device kind '" + kind + "'");
  return info.Env().Undefined();
}

// philox(blockLo, blockHi, offsetLo, offsetHi, seedLo, seedHi): Uint32Array(4), for tests.
Napi::Value Philox(const Napi::CallbackInfo& info) {
  uint32_t w[6];
  for (int i = 0; i < 6; ++i) {
    if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "philox: expected six uint32 numbers");
    w[i] = info[i].As<Napi::Number>().Uint32Value();
  }
  const Philox4 r = philox4x32_10(uint64_t(w[0]) | (uint64_t(w[1]) << 32), uint64_t(w[2]) | (uint64_t(w[3]) << 32),
                                  uint64_t(w[4]) | (uint64_t(w[5]) << 32));
  Napi::Uint32Array out = Napi::Uint32Array::New(info.Env(), 4);
  for (int i = 0; i < 4; ++i) out[i] = r.v[i];
  return out;
}

// The exported ops: name, function, and the parameter object's table where it takes one.
struct Export {
  const char* name;
  Napi::Value (*function)(const Napi::CallbackInfo&);
  Napi::Value (*schema)(Napi::Env);
};

const Export kExports[] = {
    {"conv2dForward", Conv2dForward, schema<ConvParams>},
    {"conv2dBackwardData", Conv2dBackwardData, schema<ConvParams>},
    {"conv2dBackwardFilter", Conv2dBackwardFilter, schema<ConvParams>},
    {"lrnForward", LrnForward, schema<LrnParams>},
    {"lrnBackward", LrnBackward, schema<LrnParams>},
    {"maxpoolForward", MaxpoolForward, schema<PoolParams>},
    {"maxpoolBackward", MaxpoolBackward, schema<PoolParams>},
    {"linearForward", LinearForward, schema<LinearParams>},
    {"linearBackwardData", LinearBackwardData, schema<LinearParams>},
    {"linearBackwardParams", LinearBackwardParams, schema<LinearParams>},
    {"reluForward", ReluForward, nullptr},
    {"reluBackward", ReluBackward, nullptr},
    {"tanhForward", TanhForward, nullptr},
    {"tanhBackward", TanhBackward, nullptr},
    {"dropoutForwardTrain", DropoutForwardTrain, schema<DropoutParams>},
    {"dropoutForwardEval", DropoutForwardEval, schema<DropoutParams>},
    {"dropoutBackward", DropoutBackward, nullptr},
    {"softmaxXentForward", SoftmaxXentForward, schema<SoftmaxXentParams>},
    {"softmaxXentBackward", SoftmaxXentBackward, schema<SoftmaxXentBackwardParams>},
    {"sgdUpdate", SgdUpdate, schema<SgdParams>},
    {"fillNormal", FillNormal, schema<NormalParams>},
    {"fill", Fill, nullptr},
    {"copy", Copy, nullptr},
    {"add", Add, nullptr},
    {"gemm", Gemm, schema<GemmParams>},
    {"philox", Philox, nullptr},
    {"synchronize", Synchronize, nullptr},
};

// paramSchema(): for each op that takes a parameter object, the struct it fills and the keys
// read from it with their types: { conv2dForward: { struct: 'ConvParams', keys: { n: 'integer',
// ... } }, ... }. The tests compare it with lib/'s parameter types.
Napi::Value ParamSchema(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  for (const Export& e : kExports)
    if (e.schema) out.Set(e.name, e.schema(info.Env()));
  return out;
}

}  // namespace

void RegisterOps(Napi::Env env, Napi::Object exports) {
  for (const Export& e : kExports) exports.Set(e.name, Napi::Function::New(env, e.function, e.name));
  exports.Set("paramSchema", Napi::Function::New(env, ParamSchema, "paramSchema"));
}

}  // namespace alexnet
