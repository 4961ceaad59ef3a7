// Module entry: registers NativeBuffer, the ops and info(). Context-aware (no globals), so
// the addon also loads in worker threads.
#include <napi.h>
#include "backend.h"
#include "buffer.h"
#include "parallel.h"

namespace alexnet {

void RegisterOps(Napi::Env env, Napi::Object exports);
void RegisterComm(Napi::Env env, Napi::Object exports);  // native/comm/binding.cc

namespace {

// info(): what this build has and what this machine can use.
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out["version"] = ALEXNET_VERSION;

  Napi::Object cpu_info = Napi::Object::New(env);
  cpu_info["built"] = true;
  cpu_info["usable"] = true;
  cpu_info["blas"] = cpu::blas_name();
#if defined(ALEXNET_HAVE_CBLAS)
  cpu_info["blasFound"] = true;
#else
  cpu_info["blasFound"] = false;
#endif
  cpu_info["blasThreads"] = cpu::blas_threads();
  cpu_info["threads"] = cpu_threads();
  cpu_info["cachedBytes"] = double(cpu::cached_bytes());
  cpu_info["cacheLimitBytes"] = double(cpu::cache_limit());
#if defined(ALEXNET_HAVE_OPENMP)
  cpu_info["openmp"] = true;
#else
  cpu_info["openmp"] = false;
#endif
  out["cpu"] = cpu_info;

  const cuda::Info ci = cuda::info();
  Napi::Object cuda_info = Napi::Object::New(env);
  cuda_info["built"] = ci.built;
  cuda_info["usable"] = ci.usable;
  cuda_info["ops"] = cuda::ops() != nullptr;
  cuda_info["emulated"] = ci.emulated;
  cuda_info["cachedBytes"] = double(cuda::cached_bytes());
  cuda_info["reason"] = ci.reason;
  cuda_info["runtimeVersion"] = ci.runtime_version;
  cuda_info["driverVersion"] = ci.driver_version;
  Napi::Array devices = Napi::Array::New(env, ci.devices.size());
  for (size_t i = 0; i < ci.devices.size(); ++i) {
    const cuda::DeviceInfo& d = ci.devices[i];
    Napi::Object o = Napi::Object::New(env);
    o["index"] = d.index;
    o["name"] = d.name;
    o["totalMemory"] = double(d.total_memory);
    o["freeMemory"] = double(d.free_memory);
    o["computeCapability"] = std::to_string(d.major) + "." + std::to_string(d.minor);
    o["multiprocessors"] = d.multiprocessors;
    o["clockMHz"] = d.clock_mhz;
    o["fp32PeakTflops"] = d.fp32_peak_tflops;
    devices[i] = o;
  }
  cuda_info["devices"] = devices;
  out["cuda"] = cuda_info;

  Napi::Object cudnn_info = Napi::Object::New(env);
#if defined(ALEXNET_HAVE_CUDNN)
  cudnn_info["built"] = true;
  cudnn_info["usable"] = ci.usable;
  cudnn_info["reason"] = ci.usable ? "" : ci.reason;
  cudnn_info["version"] = cudnn::version();
#else
  cudnn_info["built"] = false;
  cudnn_info["usable"] = false;
  cudnn_info["reason"] = "not built with cuDNN (cudnn.h not found when the addon was built)";
#endif
  out["cudnn"] = cudnn_info;
  return out;
}

}  // namespace

// releaseCachedMemory(): returns the buffers kept for reuse (CPU and every CUDA device) to
// the system; the number of bytes freed.
Napi::Value ReleaseCachedMemory(const Napi::CallbackInfo& info) {
  const double bytes = double(cpu::cached_bytes() + cuda::cached_bytes());
  cpu::release_cached();
  cuda::release_cached();
  return Napi::Number::New(info.Env(), bytes);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  AddonData* data = new AddonData();
  Napi::Function ctor = NativeBuffer::Define(env);
  data->buffer_constructor = Napi::Persistent(ctor);
  env.SetInstanceData<AddonData>(data);
  exports["NativeBuffer"] = ctor;
  exports["info"] = Napi::Function::New(env, Info);
  exports["releaseCachedMemory"] = Napi::Function::New(env, ReleaseCachedMemory);
  RegisterOps(env, exports);
  RegisterComm(env, exports);
  return exports;
}

}  // namespace alexnet

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return alexnet::Init(env, exports); }

NODE_API_MODULE(alexnet_native, InitAddon)
