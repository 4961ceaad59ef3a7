// The backends of this addon, by device kind (backends.cc: the one place that names them).
#pragma once
#include <napi.h>
#include <string>
#include "backend.h"

namespace alexnet {

// The backend of a device kind ("cpu", "cuda", "cudnn"); null where no backend has that
// name. Throws std::runtime_error saying why for a kind this addon was built without.
const Backend* find_backend(const std::string& kind);

// info()'s entry per backend, each as it reports itself: { cpu: {...}, cuda: {...}, ... }.
void describe_backends(Napi::Env env, Napi::Object out);

// Returns the freed memory that every memory keeps for reuse to the system; the bytes freed.
size_t release_cached_memory();

}  // namespace alexnet
