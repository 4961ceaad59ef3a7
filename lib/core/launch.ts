// Where this process stands in a job of several (the launcher's environment) and which
// engines of distributed training this build has. Apart from comm.ts so that build info can
// report them without loading the communicator (and Tensor with it).
import { native } from './native';

/** What mpirun (Open MPI, MPICH's hydra) or Slurm's srun told this process about its place. */
export interface Launch {
  rank: number;
  size: number;
  localRank: number;
  launcher: 'mpirun' | 'hydra' | 'srun';
}

function int(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** This process's rank and the job's size when a launcher started it (null otherwise). */
export function launchedRanks(env: NodeJS.ProcessEnv = process.env): Launch | null {
  const tries: [Launch['launcher'], string, string, string][] = [
    ['mpirun', 'OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_LOCAL_RANK'],
    ['hydra', 'PMI_SIZE', 'PMI_RANK', 'MPI_LOCALRANKID'],
    ['srun', 'SLURM_NTASKS', 'SLURM_PROCID', 'SLURM_LOCALID'],
  ];
  for (const [launcher, size, rank, local] of tries) {
    const s = int(env[size]), r = int(env[rank]);
    if (s !== undefined && r !== undefined) return { launcher, size: s, rank: r, localRank: int(env[local]) ?? 0 };
  }
  return null;
}

export interface EngineStatus {
  built: boolean;
  /** the library's version where it is usable */
  version: string;
  /** why not, where it is not */
  reason: string;
}

export interface CommInfo {
  mpi: EngineStatus;
  nccl: EngineStatus;
}

export function commInfo(): CommInfo {
  return native().commInfo();
}

