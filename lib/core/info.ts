// What this build has and what this machine can use, for `alexnet info` and for callers.
import { native, NativeInfo } from './native';

export type BackendInfo = NativeInfo;

export function backendInfo(): BackendInfo {
  return native().info();
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

function cudaVersion(v: number): string {
  return v ? `${Math.floor(v / 1000)}.${(v % 1000) / 10}` : 'none';
}

/** The human-readable lines of `alexnet info`. */
export function formatInfo(info: BackendInfo): string {
  const lines = [`alexnet-native ${info.version}`, ''];
  lines.push(`cpu    usable: ${info.cpu.threads} threads${info.cpu.openmp ? ' (OpenMP)' : ' (no OpenMP: one thread)'}`);
  lines.push(`       GEMM: ${info.cpu.blasFound ? info.cpu.blas : `${info.cpu.blas} (no CBLAS found at build time)`}, ${info.cpu.blasThreads} threads`);
  const c = info.cuda;
  if (!c.built) lines.push(`cuda   not built: ${c.reason}`);
  else if (!c.usable) lines.push(`cuda   built (runtime ${cudaVersion(c.runtimeVersion)}), no usable device: ${c.reason}`);
  else {
    lines.push(`cuda   built (runtime ${cudaVersion(c.runtimeVersion)}, driver ${cudaVersion(c.driverVersion)}), ${c.devices.length} device(s)${c.ops ? '' : '; ops not in this build yet'}${c.emulated ? ' -- HOST EMULATOR (test build), not a GPU' : ''}`);
    for (const d of c.devices)
      lines.push(`       cuda:${d.index} ${d.name}, ${gib(d.totalMemory)} (${gib(d.freeMemory)} free), sm_${d.computeCapability.replace('.', '')}, ${d.multiprocessors} SMs`);
  }
  const n = info.cudnn;
  lines.push(n.built ? `cudnn  built${n.version ? ` (cuDNN ${n.version})` : ''}${n.usable ? '' : `, not usable: ${n.reason}`}` : `cudnn  not built: ${n.reason}`);
  return lines.join('\n');
}
