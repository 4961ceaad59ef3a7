// A loader worker thread: opens one split of a prepared folder and answers batch requests
// { id, epoch, indices } with { id, images } (the Float32Array's buffer is transferred, not copied)
// or { id, error }. Started by DataLoader (loader.ts); all randomness comes from augment.ts, so a
// batch does not depend on which worker made it.
import { parentPort, workerData } from 'worker_threads';
import { AugmentConfig, ShardReader, cropsPerImage, fillBatch } from './augment';
import { openPrepared } from './format';

export interface WorkerInit {
  dir: string;
  split: 'train' | 'val';
  cfg: AugmentConfig;
}

export interface WorkerRequest {
  id: number;
  epoch: number;
  indices: Int32Array;
  /** A recycled output buffer (at least as long as the batch needs), or null to allocate one. */
  out: Float32Array | null;
  /** The length to allocate when `out` is null (a full batch, so that the buffer can be recycled). */
  length: number;
}

export type WorkerReply = { id: number; images: Float32Array } | { id: number; error: string };

if (parentPort) {
  const port = parentPort;
  const init = workerData as WorkerInit;
  let reader: ShardReader | null = null;
  let mean: Float32Array | null = null;
  let setupError: string | null = null;
  try {
    const data = openPrepared(init.dir);
    const split = data.index.splits[init.split];
    if (!split) throw new Error(`prepared data: ${init.dir} has no ${init.split} split`);
    reader = new ShardReader(init.dir, data.index, split);
    mean = data.mean;
  } catch (err) {
    setupError = (err as Error).message;
  }
  port.on('message', (req: WorkerRequest) => {
    if (setupError !== null || !reader) {
      port.postMessage({ id: req.id, error: setupError ?? 'loader worker not initialised' });
      return;
    }
    try {
      const { cfg } = init;
      const need = req.indices.length * cropsPerImage(cfg.mode) * 3 * cfg.crop * cfg.crop;
      const out = req.out && req.out.length >= need ? req.out : new Float32Array(Math.max(need, req.length));
      const r = reader;
      fillBatch(cfg, req.epoch, req.indices, (i) => r.read(i), mean, out);
      const reply: WorkerReply = { id: req.id, images: out };
      port.postMessage(reply, [out.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id: req.id, error: (err as Error).message });
    }
  });
}
