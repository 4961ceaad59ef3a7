// Module entry: registers NativeBuffer, the ops and info(). Context-aware (no globals), so
// the addon also loads in worker threads.
#include <napi.h>
#include "backends.h"
#include "buffer.h"

namespace alexnet {

void RegisterOps(Napi::Env env, Napi::Object exports);
void RegisterComm(Napi::Env env, Napi::Object exports);  // native/comm/binding.cc

namespace {

// info(): what this build has and what this machine can use, as each backend reports it.
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out["version"] = ALEXNET_VERSION;
  describe_backends(info.Env(), out);
  return out;
}

// releaseCachedMemory(): returns the buffers kept for reuse (CPU and every CUDA device) to
// the system; the number of bytes freed.
Napi::Value ReleaseCachedMemory(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(release_cached_memory()));
}

}  // namespace

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
