// One rank of the communicator tests (test/comm.test.ts starts it under mpirun). Runs every
// collective on values that say which rank sent them, and prints one JSON line of results.
// ALEXNET_COMM_CASE=stuck: rank 1 skips the allreduce everyone else makes (the timeout case).
// ALEXNET_COMM_ENGINE=nccl: the same collectives over NCCL, on each rank's GPU.
import { Communicator } from '../lib/core/comm';
import { Tensor } from '../lib/core/tensor';

async function main(): Promise<void> {
  const scenario = process.env.ALEXNET_COMM_CASE ?? 'collectives';
  const engine = process.env.ALEXNET_COMM_ENGINE === 'nccl' ? 'nccl' : 'mpi';
  const comm = await Communicator.open(engine, { timeoutMs: Number(process.env.ALEXNET_COMM_TIMEOUT_MS ?? 60_000) });
  const { rank, size } = comm;
  const dev = comm.device;
  const out: Record<string, unknown> = { rank, size, localRank: comm.localRank };
  if (scenario === 'stuck') {
    const t = Tensor.fromArray([rank], [1], dev);
    if (rank === 1) {
      // never joins: sleeps past the others' timeout, then leaves without a word
      await new Promise((r) => setTimeout(r, 20_000));
      process.exit(0);
    }
    try {
      await comm.allreduce(t);
      out.error = null;
    } catch (e) {
      out.error = (e as Error).message;
    }
    console.log(JSON.stringify(out));
    comm.abort(3);
    return;
  }
  // allreduce of one tensor: element i of rank r is r * 10 + i
  const a = Tensor.fromArray([0, 1, 2].map((i) => rank * 10 + i), [3], dev);
  await comm.allreduce(a);
  out.allreduce = Array.from(a.toFloat32Array());
  // a bucket of two tensors averaged as one
  const b1 = Tensor.fromArray([rank, 2 * rank], [2], dev), b2 = Tensor.fromArray([1 + rank], [1], dev);
  await comm.allreduce([b1, b2], 'mean');
  out.bucket = [...b1.toFloat32Array(), ...b2.toFloat32Array()];
  // allgather: rank r sends [r, r + 0.5]
  const send = Tensor.fromArray([rank, rank + 0.5], [2], dev), recv = Tensor.zeros([2 * size], dev);
  await comm.allgather(send, recv);
  out.allgather = Array.from(recv.toFloat32Array());
  // reduce-scatter: rank r sends element j = r + j; rank r keeps the sum of block r
  const rs = Tensor.fromArray(Array.from({ length: 2 * size }, (_, j) => rank + j), [2 * size], dev), mine = Tensor.zeros([2], dev);
  await comm.reduceScatter(rs, mine);
  out.reduceScatter = Array.from(mine.toFloat32Array());
  // broadcast from the last rank
  const bc = Tensor.fromArray([rank, rank], [2], dev);
  await comm.broadcast(bc, size - 1);
  out.broadcast = Array.from(bc.toFloat32Array());
  // the event loop runs while a collective is in flight: a timer fires during a barrier that
  // rank 0 joins late
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  if (rank === 0) await new Promise((r) => setTimeout(r, 300));
  await comm.barrier();
  clearInterval(timer);
  out.ticksDuringBarrier = ticks;
  out.sum = await comm.sum([1, rank]);
  // a wrong size is an error naming the collective and the rank, and the communicator goes on
  try {
    await comm.allgather(send, Tensor.zeros([3 * size], dev));
  } catch (e) {
    out.badSize = (e as Error).message;
  }
  await comm.barrier();
  console.log(JSON.stringify(out));
  await comm.close();
}

main().catch((e) => {
  console.error(`rank ${process.env.OMPI_COMM_WORLD_RANK}: ${(e as Error).message}`);
  process.exit(1);
});
