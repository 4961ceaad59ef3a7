// NativeBuffer: allocation, reads and writes between JavaScript and device memory, free.
// Argument unpacking only; the memory itself is the Memory of the device kind's backend.
#include "buffer.h"
#include <new>
#include <stdexcept>
#include <string>
#include "backends.h"

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
  const Backend* backend = nullptr;
  try {
    backend = find_backend(kind);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("NativeBuffer: ") + e.what());
  }
  if (!backend) throw Napi::TypeError::New(env, "NativeBuffer: unknown device kind '" + kind + "'");
  const Memory& memory = *backend->memory;
  try {
    if (!memory.host && index_ < 0) throw std::runtime_error("device index must be >= 0");
    backend->select(index_);
    data_ = memory.allocate(index_, size_t(count_));
    if (info[3].ToBoolean() && count_ > 0) backend->ops.fill(count_, 0.0f, data_);
  } catch (const std::bad_alloc&) {
    if (data_) memory.free(index_, data_);
    data_ = nullptr;
    throw Napi::RangeError::New(env, "NativeBuffer: out of host memory allocating " + std::to_string(count_ * 4) +
                                         " bytes");
  } catch (const std::exception& e) {
    if (data_) memory.free(index_, data_);
    data_ = nullptr;
    throw Napi::Error::New(env, std::string("NativeBuffer: ") + e.what());
  }
  backend_ = backend;
  // host memory counts towards V8's GC pressure; device memory is the device cache's business
  if (memory.host) Napi::MemoryManagement::AdjustExternalMemory(env, count_ * int64_t(sizeof(float)));
}

NativeBuffer::~NativeBuffer() { Release(); }

void NativeBuffer::Release() {
  if (!data_) return;
  const Memory& memory = *backend_->memory;
  memory.free(index_, data_);  // to the memory's cache (or the system); never throws
  if (memory.host && env_) Napi::MemoryManagement::AdjustExternalMemory(env_, -count_ * int64_t(sizeof(float)));
  data_ = nullptr;
}

std::string NativeBuffer::device_name() const {
  if (backend_->memory->host) return backend_->name;
  return std::string(backend_->name) + ":" + std::to_string(index_);
}

// read(): Float32Array — a copy of the whole buffer.
Napi::Value NativeBuffer::Read(const Napi::CallbackInfo& info) {
  if (freed()) throw Napi::Error::New(info.Env(), "NativeBuffer.read: the buffer was freed");
  Napi::Float32Array out = Napi::Float32Array::New(info.Env(), size_t(count_));
  try {
    backend_->memory->read(index_, data_, out.Data(), count_);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("NativeBuffer.read: ") + e.what());
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
  try {
    backend_->memory->write(index_, values.Data(), data_, count_);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("NativeBuffer.write: ") + e.what());
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
