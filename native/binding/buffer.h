// NativeBuffer: the N-API handle that owns one tensor's memory on one device. lib/tensor.ts
// wraps it with a shape; the garbage collector frees what dispose() did not.
#pragma once
#include <napi.h>
#include <cstdint>

namespace alexnet {

// Cudnn memory is CUDA memory; the kind only picks the cuDNN backend for the tensor's ops.
enum class DeviceKind { Cpu, Cuda, Cudnn };

class NativeBuffer : public Napi::ObjectWrap<NativeBuffer> {
 public:
  static Napi::Function Define(Napi::Env env);
  static bool IsInstance(Napi::Env env, const Napi::Value& value);

  explicit NativeBuffer(const Napi::CallbackInfo& info);
  ~NativeBuffer() override;

  float* data() const { return data_; }
  int64_t count() const { return count_; }
  DeviceKind kind() const { return kind_; }
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
  DeviceKind kind_ = DeviceKind::Cpu;
  int index_ = 0;
  napi_env env_ = nullptr;
};

// Per-environment state (the addon also loads in worker threads).
struct AddonData {
  Napi::FunctionReference buffer_constructor;
};

// The op table for a device (selecting that CUDA device first); throws where not built.
struct Ops;
const Ops& backend_of(DeviceKind kind, int index, const char* op);

}  // namespace alexnet
