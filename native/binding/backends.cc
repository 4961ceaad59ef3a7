// The registration: one line per backend. Each backend's folder defines, in its namespace,
// backend() (its table; null where the build left it out) and describe() (what info()
// reports about it, also where it was left out).
#include "backends.h"
#include <algorithm>
#include <stdexcept>
#include <vector>

namespace alexnet {

namespace cpu {
const Backend* backend();
void describe(Report& r);
}  // namespace cpu
namespace cuda {
const Backend* backend();
void describe(Report& r);
}  // namespace cuda
namespace cudnn {
const Backend* backend();
void describe(Report& r);
}  // namespace cudnn

namespace {

struct Registration {
  const char* kind;
  const Backend* (*backend)();
  void (*describe)(Report&);
  const char* missing;  // why there is no backend, where backend() is null
};

const Registration kBackends[] = {
    {"cpu", cpu::backend, cpu::describe, "this addon was built without the CPU backend"},
    {"cuda", cuda::backend, cuda::describe,
     "this addon was built without CUDA (nvcc was not found when it was built); use the cpu device"},
    {"cudnn", cudnn::backend, cudnn::describe, "this addon was built without cuDNN"},
};

Napi::Object to_js(Napi::Env env, const Report& r) {
  Napi::Object o = Napi::Object::New(env);
  for (const Report::Entry& e : r.entries) {
    switch (e.kind) {
      case Report::Entry::Flag: o.Set(e.key, e.flag); break;
      case Report::Entry::Number: o.Set(e.key, e.number); break;
      case Report::Entry::Text: o.Set(e.key, e.text); break;
      case Report::Entry::List: {
        Napi::Array items = Napi::Array::New(env, e.items.size());
        for (size_t i = 0; i < e.items.size(); ++i) items[i] = to_js(env, e.items[i]);
        o.Set(e.key, items);
        break;
      }
    }
  }
  return o;
}

}  // namespace

const Backend* find_backend(const std::string& kind) {
  for (const Registration& r : kBackends) {
    if (kind != r.kind) continue;
    const Backend* b = r.backend();
    if (!b) throw std::runtime_error(r.missing);
    return b;
  }
  return nullptr;
}

void describe_backends(Napi::Env env, Napi::Object out) {
  for (const Registration& r : kBackends) {
    Report report;
    r.describe(report);
    out.Set(r.kind, to_js(env, report));
  }
}

size_t release_cached_memory() {
  std::vector<const Memory*> memories;  // each once: backends may share one
  for (const Registration& r : kBackends) {
    const Backend* b = r.backend();
    if (b && std::find(memories.begin(), memories.end(), b->memory) == memories.end()) memories.push_back(b->memory);
  }
  size_t bytes = 0;
  for (const Memory* m : memories) bytes += m->cached_bytes();
  for (const Memory* m : memories) m->release_cached();
  return bytes;
}

}  // namespace alexnet
