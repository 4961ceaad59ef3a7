// What the CUDA backend can see and reports (info()): runtime and driver versions and each
// device's name, memory and compute capability. With the runtime linked statically this runs on machines
// with no driver too, and reports why CUDA is unusable there instead of failing to load.
#include <string>
#include "common.cuh"

namespace alexnet {
namespace cuda {

Info info() {
  Info out;
  out.usable = false;
  out.runtime_version = 0;
  out.driver_version = 0;
  cudaRuntimeGetVersion(&out.runtime_version);
  cudaDriverGetVersion(&out.driver_version);  // 0 where no driver is installed
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    out.reason = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error so a later call starts clean
    return out;
  }
  if (count == 0) {
    out.reason = "no CUDA device found";
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    DeviceInfo d;
    d.index = i;
    d.name = prop.name;
    d.total_memory = prop.totalGlobalMem;
    d.free_memory = 0;
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess)
      d.free_memory = free_bytes;
    d.major = prop.major;
    d.minor = prop.minor;
    d.multiprocessors = prop.multiProcessorCount;
    int khz = 0;
    if (cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, i) == cudaSuccess) d.clock_mhz = khz / 1000;
    // FP32 lanes per SM: 64 on sm_60, sm_70, sm_75 and sm_80 (P100, V100, Turing, A100),
    // 128 on sm_61 and on sm_86 onwards (H100/H200 included)
    const bool half = (prop.major == 6 && prop.minor == 0) || prop.major == 7 || (prop.major == 8 && prop.minor == 0);
    const int lanes = half ? 64 : 128;
    d.fp32_peak_tflops = 2.0 * lanes * prop.multiProcessorCount * (khz / 1e9);
    out.devices.push_back(d);
  }
  cudaGetLastError();
  out.usable = !out.devices.empty();
  if (!out.usable) out.reason = "no CUDA device answered";
  return out;
}

void describe(Report& r) {
  const Info ci = info();
  r.flag("built", true);
  r.flag("usable", ci.usable);
  r.flag("ops", true);
#ifdef ALEXNET_CUDA_EMULATOR
  r.flag("emulated", true);
#else
  r.flag("emulated", false);
#endif
  r.number("cachedBytes", double(cached_bytes()));
  r.text("reason", ci.reason);
  r.number("runtimeVersion", ci.runtime_version);
  r.number("driverVersion", ci.driver_version);
  std::vector<Report> devices;
  for (const DeviceInfo& d : ci.devices) {
    Report o;
    o.number("index", d.index);
    o.text("name", d.name);
    o.number("totalMemory", double(d.total_memory));
    o.number("freeMemory", double(d.free_memory));
    o.text("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    o.number("multiprocessors", d.multiprocessors);
    o.number("clockMHz", d.clock_mhz);
    o.number("fp32PeakTflops", d.fp32_peak_tflops);
    devices.push_back(std::move(o));
  }
  r.list("devices", std::move(devices));
}

}  // namespace cuda
}  // namespace alexnet
