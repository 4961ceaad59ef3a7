// What this build has and what this machine can use, for `alexnet info` and for callers.
import { commInfo, CommInfo, launchedRanks } from './launch';
import { native, NativeInfo } from './native';

/** The backends, and the engines of distributed training (`comm`). */
export type BackendInfo = NativeInfo & { comm: CommInfo };

export function backendInfo(): BackendInfo {
  return { ...native().info(), comm: commInfo() };
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
  const blas = `${info.cpu.blasFound ? info.cpu.blas : `${info.cpu.blas} (no CBLAS found at build time)`}, ${info.cpu.blasThreads} threads`;
  // with our packed GEMM, matrix-vector products are ours too and the BLAS is not called
  lines.push(`       GEMM: ${info.cpu.gemm.startsWith('packed') ? `${info.cpu.gemm} and our GEMV (BLAS linked, unused: ${blas})` : blas}`);
  lines.push(`       convolutions: ${info.cpu.convAlgorithm === 'auto' ? 'Winograd for stride-1 3x3 and 5x5 layers, im2col + GEMM otherwise' : info.cpu.convAlgorithm === 'gemm' ? 'im2col + GEMM (ALEXNET_CPU_CONV=gemm)' : 'Winograd wherever it applies (ALEXNET_CPU_CONV=winograd)'}`);
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
  const launch = launchedRanks();
  const engine = (name: string, e: { built: boolean; version: string; reason: string }, what: string) =>
    lines.push(!e.built ? `${name} not built: ${e.reason}` : e.version ? `${name} built (${e.version}): ${what}` : `${name} built, not usable: ${e.reason}`);
  engine('mpi   ', info.comm.mpi, `distributed training over CPU tensors (mpirun -np N ... train)${launch ? `; this process is rank ${launch.rank} of ${launch.size} (${launch.launcher})` : ''}`);
  engine('nccl  ', info.comm.nccl, 'distributed training over CUDA tensors, one rank per GPU');
  return lines.join('\n');
}
