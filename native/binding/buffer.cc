// NativeBuffer: allocation, reads and writes between JavaScript and device memory, free.
// Argument unpacking only; the memory itself comes from the backend (cpu::alloc).
#include "buffer.h"
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include "backend.h"

namespace alexnet {

Napi::Function NativeBuffer::Define(Napi::Env env) {
  return DefineClass(env, "NativeBuffer",
                     {InstanceMethod<&NativeBuffer::Read>("read"),
                      InstanceMethod<&NativeBuffer::Write>("write"),
                      InstanceMethod<&NativeBuffer::Free>("free"),
                      InstanceAccessor<&NativeBuffer::GetCount>("count"),
                      InstanceAccessor<&NativeBuffer::GetDevice>("device")});
}

bool NativeBuffer::IsInstance(Napi::Env env, const Napi::Value& value) {
  if (!value.IsObject()) return false;
  AddonData* data = env.GetInstanceData<AddonData>();
  return value.As<Napi::Object>().InstanceOf(data->buffer_constructor.Value());
}

// new NativeBuffer(kind: 'cpu' | 'cuda' | 'cudnn', index: number, count: number, zero: boolean)
NativeBuffer::NativeBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeBuffer>(info) {
  Napi::Env env = info.Env();
  env_ = env;
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "NativeBuffer: expected (kind, index, count, zero)");
  const std::string kind = info[0].As<Napi::String>();
  const double count = info[2].As<Napi::Number>().DoubleValue();
  if (!(count >= 0) || count != double(int64_t(count)) || count > double(int64_t(1) << 40))
    throw Napi::RangeError::New(env, "NativeBuffer: count must be a non-negative integer, got " + std::to_string(count));
  index_ = info[1].As<Napi::Number>().Int32Value();
  count_ = int64_t(count);
  if (kind == "cpu") {
    kind_ = DeviceKind::Cpu;
    try {
      data_ = cpu::alloc(size_t(count_));
    } catch (const std::bad_alloc&) {
      throw Napi::RangeError::New(env, "NativeBuffer: out of host memory allocating " +
                                           std::to_string(count_ * 4) + " bytes");
    }
    if (info[3].ToBoolean()) std::memset(data_, 0, size_t(count_) * sizeof(float));
  } else if (kind == "cuda" || kind == "cudnn") {
    kind_ = kind == "cuda" ? DeviceKind::Cuda : DeviceKind::Cudnn;
    const char* op = "NativeBuffer";
    try {
      if (index_ < 0) throw std::runtime_error("device index must be >= 0");
      const Ops& ops = backend_of(kind_, index_, op);
      data_ = cuda::alloc(index_, size_t(count_));
      if (info[3].ToBoolean() && count_ > 0) ops.fill(count_, 0.0f, data_);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      if (data_) cuda::release(index_, data_);
      data_ = nullptr;
      throw Napi::Error::New(env, std::string("NativeBuffer: ") + e.what());
    }
  } else {
    throw Napi::TypeError::New(env, "NativeBuffer: unknown device kind '" + kind + "'");
  }
  // host memory counts towards V8's GC pressure; device memory is the device cache's business
  if (kind_ == DeviceKind::Cpu) Napi::MemoryManagement::AdjustExternalMemory(env, count_ * int64_t(sizeof(float)));
}

NativeBuffer::~NativeBuffer() { Release(); }

void NativeBuffer::Release() {
  if (!data_) return;
  if (kind_ == DeviceKind::Cpu) {
    cpu::release(data_);
    if (env_) Napi::MemoryManagement::AdjustExternalMemory(env_, -count_ * int64_t(sizeof(float)));
  } else {
    cuda::release(index_, data_);  // back to the device's cache; never throws
  }
  data_ = nullptr;
}

std::string NativeBuffer::device_name() const {
  if (kind_ == DeviceKind::Cpu) return "cpu";
  return (kind_ == DeviceKind::Cuda ? "cuda:" : "cudnn:") + std::to_string(index_);
}

// read(): Float32Array — a copy of the whole buffer.
Napi::Value NativeBuffer::Read(const Napi::CallbackInfo& info) {
  if (freed()) throw Napi::Error::New(info.Env(), "NativeBuffer.read: the buffer was freed");
  Napi::Float32Array out = Napi::Float32Array::New(info.Env(), size_t(count_));
  if (kind_ == DeviceKind::Cpu) {
    std::memcpy(out.Data(), data_, size_t(count_) * sizeof(float));
  } else {
    try {
      cuda::copy_to_host(index_, data_, out.Data(), count_);
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("NativeBuffer.read: ") + e.what());
    }
  }
  return out;
}

// write(values: Float32Array) — values.length must equal count.
void NativeBuffer::Write(const Napi::CallbackInfo& info) {
  if (freed()) throw Napi::Error::New(info.Env(), "NativeBuffer.write: the buffer was freed");
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), "NativeBuffer.write: expected a Float32Array");
  Napi::Float32Array values = info[0].As<Napi::Float32Array>();
  if (int64_t(values.ElementLength()) != count_)
    throw Napi::RangeError::New(info.Env(), "NativeBuffer.write: expected " + std::to_string(count_) +
                                                " values, received " + std::to_string(values.ElementLength()));
  if (kind_ == DeviceKind::Cpu) {
    std::memcpy(data_, values.Data(), size_t(count_) * sizeof(float));
  } else {
    try {
      cuda::copy_from_host(index_, values.Data(), data_, count_);
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("NativeBuffer.write: ") + e.what());
    }
  }
}

void NativeBuffer::Free(const Napi::CallbackInfo&) { Release(); }

Napi::Value NativeBuffer::GetCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(count_));
}

Napi::Value NativeBuffer::GetDevice(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), device_name());
}

}  // namespace alexnet
