// The communicator of distributed training: allreduce, allgather, reduce-scatter, broadcast and
// barrier over MPI (CPU tensors) or NCCL (CUDA tensors), engines found at build time
// (native/comm). Every call returns a promise and runs on the communicator's own native thread,
// in the order the calls were made (each resolves to the seconds it took there), so the event loop, the data workers and the compute of
// the JavaScript thread carry on while it talks; errors name the collective and the rank.
import { commInfo, CommInfo, EngineStatus, Launch, launchedRanks } from './launch';
import { native } from './native';
import { Tensor } from './tensor';

export { commInfo, CommInfo, EngineStatus, Launch, launchedRanks };

/** Why distributed training over `engine` cannot run here, or null when it can. */
export function commUnavailable(engine: 'mpi' | 'nccl' = 'mpi'): string | null {
  const i = commInfo()[engine];
  if (!i.built) return `${engine === 'mpi' ? 'MPI' : 'NCCL'} not built: ${i.reason}`;
  if (engine === 'nccl' && !i.version) return `NCCL unusable: ${i.reason}`;
  return null;
}

export interface OpenOptions {
  /** how long a collective waits for the slowest rank before failing, naming it (default 120 s; 0: forever) */
  timeoutMs?: number;
}

export class Communicator {
  private closed = false;

  private constructor(
    private readonly handle: import('./native').NativeCommunicator,
    readonly engine: 'mpi' | 'nccl',
    readonly rank: number,
    readonly size: number,
    readonly localRank: number,
  ) {}

  /**
   * Joins the job this process was launched in (mpirun / srun). MPI: CPU tensors; NCCL: CUDA
   * tensors on cuda:<local rank>, one rank per GPU. One communicator per process.
   */
  static async open(engine: 'mpi' | 'nccl' = 'mpi', options: OpenOptions = {}): Promise<Communicator> {
    const why = commUnavailable(engine);
    if (why) throw new Error(`distributed training is unavailable: ${why}`);
    const timeout = options.timeoutMs ?? 120_000;
    if (!(timeout >= 0)) throw new Error(`Communicator.open: timeoutMs must be >= 0, got ${timeout}`);
    const h = new (native().Communicator)(engine, timeout);
    const r = await h.open();
    return new Communicator(h, engine, r.rank, r.size, r.localRank);
  }

  /** The device this rank's tensors live on: the CPU (MPI) or its GPU (NCCL). */
  get device(): string {
    return this.engine === 'mpi' ? 'cpu' : `cuda:${this.localRank}`;
  }

  /** Sums (or averages) the tensors over the ranks, in place, as one bucket: one collective for all. */
  allreduce(tensors: Tensor | readonly Tensor[], op: 'sum' | 'mean' = 'sum'): Promise<number> {
    const list = Array.isArray(tensors) ? tensors : [tensors as Tensor];
    return this.handle.allreduce(list.map((t) => t.handle('allreduce', 'tensor')), op === 'mean');
  }

  /** recv (size x send elements) = every rank's send, in rank order. */
  allgather(send: Tensor, recv: Tensor): Promise<number> {
    return this.handle.allgather(send.handle('allgather', 'send'), recv.handle('allgather', 'recv'));
  }

  /** send (size x recv elements) summed over the ranks; rank r receives block r. */
  reduceScatter(send: Tensor, recv: Tensor): Promise<number> {
    return this.handle.reduceScatter(send.handle('reduceScatter', 'send'), recv.handle('reduceScatter', 'recv'));
  }

  /** Copies root's tensor to every rank. */
  broadcast(t: Tensor, root = 0): Promise<number> {
    return this.handle.broadcast(t.handle('broadcast', 'tensor'), root);
  }

  barrier(): Promise<number> {
    return this.handle.barrier();
  }

  /** Sums a few numbers over the ranks (losses, counts, a stop flag). */
  async sum(values: readonly number[]): Promise<number[]> {
    const t = Tensor.fromArray(values, [values.length], this.device);
    try {
      await this.allreduce(t);
      return Array.from(t.toFloat32Array());
    } finally {
      t.dispose();
    }
  }

  /** Ends every rank of the job with `code` (after an error this rank cannot recover from). */
  abort(code = 1): void {
    this.handle.abort(code);
  }

  /** Leaves the job (MPI_Finalize); every rank must call it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}
