// NativeBuffer: the N-API handle that owns one tensor's memory on one device. lib/tensor.ts
// wraps it with a shape; the garbage collector frees what dispose() did not.
#pragma once
#include <napi.h>
#include <cstdint>
#include <string>
#include "backend.h"

namespace alexnet {

class NativeBuffer : public Napi::ObjectWrap<NativeBuffer> {
 public:
  static Napi::Function Define(Napi::Env env);
  static bool IsInstance(Napi::Env env, const Napi::Value& value);

  explicit NativeBuffer(const Napi::CallbackInfo& info);
  ~NativeBuffer() override;

  float* data() const { return data_; }
  int64_t count() const { return count_; }
  // The backend of the tensor's device kind: its memory holds data(), its ops run on it.
  const Backend& backend() const { return *backend_; }
  int device_index() const { return index_; }
  bool freed() const { return data_ == nullptr; }
  std::string device_name() const;

 private:
  Napi::Value Read(const Napi::CallbackInfo& info);
  void Write(const Napi::CallbackInfo& info);
  void Free(const Napi::CallbackInfo& info);
  Napi::Value GetCount(const Napi::CallbackInfo& info);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  void Release();

  float* data_ = nullptr;
  int64_t count_ = 0;
  const Backend* backend_ = nullptr;
  int index_ = 0;
  napi_env env_ = nullptr;
};

// Per-environment state (the addon also loads in worker threads).
struct AddonData {
  Napi::FunctionReference buffer_constructor;
};

}  // namespace alexnet
