// Which GEMM kernel the CUDA backend's GEMM-shaped ops (conv2d, linear, gemm) use, chosen
// once per process by ALEXNET_GEMM (versions side by side, so a GPU run can pick the winner):
//   v1      the first tiled kernel (gemm_tile.cuh): FP32, the default until a GPU run has
//           passed and measured the others
//   v2      FP32 SIMT, division-free operand cursors, cp.async double buffering, 128-bit
//           shared loads, tile height by M, split-K by SM count (gemm_tile2.cuh)
//   tf32    v2's pipeline with mma.sync m16n8k8 TF32 tensor cores, FP32 accumulation
//   3xtf32  as tf32 with each operand split into a TF32 high part and a TF32 residual and
//           three products (small*big + big*small + big*big): FP32-level accuracy
// The tensor-core versions need compute capability 8.0 or newer.
#include <cstdlib>
#include <cstring>
#include <string>
#include "common.cuh"
#include "gemm_tile.cuh"

namespace alexnet {
namespace cuda {

namespace {
struct Choice {
  GemmVersion version = GemmVersion::v1;
  std::string error;
};

Choice read_choice() {
  Choice c;
  const char* v = std::getenv("ALEXNET_GEMM");
  if (!v || !*v || !std::strcmp(v, "v1")) return c;
  if (!std::strcmp(v, "v2")) c.version = GemmVersion::v2;
  else if (!std::strcmp(v, "tf32")) c.version = GemmVersion::tf32;
  else if (!std::strcmp(v, "3xtf32")) c.version = GemmVersion::tf32x3;
  else c.error = std::string("ALEXNET_GEMM must be one of v1, v2, tf32, 3xtf32 (got '") + v + "')";
  return c;
}
}  // namespace

GemmVersion gemm_version() {
  static const Choice choice = read_choice();
  if (!choice.error.empty()) throw Error(choice.error);
  return choice.version;
}

const char* gemm_version_name(GemmVersion v) {
  switch (v) {
    case GemmVersion::v1: return "v1";
    case GemmVersion::v2: return "v2";
    case GemmVersion::tf32: return "tf32";
    case GemmVersion::tf32x3: return "3xtf32";
  }
  return "?";
}

namespace {
constexpr int kMaxDevices = 64;
struct DeviceFacts {
  int sms = 0, major = 0;
};
DeviceFacts& facts_of(int device) {
  // written once per device, by the first op on it; later reads see the same values
  static DeviceFacts facts[kMaxDevices];
  DeviceFacts& f = facts[device >= 0 && device < kMaxDevices ? device : 0];
  if (f.sms == 0) {
    int sms = 0, major = 0;
    check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
    f.major = major;
    f.sms = sms > 0 ? sms : 1;
  }
  return f;
}
}  // namespace

int multiprocessors() { return facts_of(current_device()).sms; }

void require_tensor_cores(const char* op) {
  const int device = current_device();
  if (facts_of(device).major < 8)
    throw Error(std::string(op) + ": ALEXNET_GEMM=" + gemm_version_name(gemm_version()) +
                " needs TF32 tensor cores (compute capability 8.0 or newer); device " + std::to_string(device) +
                " has " + std::to_string(facts_of(device).major) + ".x. Use v1 or v2 there.");
}

}  // namespace cuda
}  // namespace alexnet
