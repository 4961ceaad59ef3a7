// What a run measures and records: top-k errors, the 10-crop average, one metrics line per
// epoch (metrics.jsonl) and its human-readable form.
import * as fs from 'node:fs';

export interface EpochMetrics {
  epoch: number;
  lr: number;
  train_loss: number;
  train_top1_error: number;
  val_top1_error: number;
  val_top5_error: number;
  images_per_second: number;
  seconds: number;
  data_seconds: number;
  compute_seconds: number;
}

/** Top-1 and top-5 misses of probs (N, classes) against labels. */
export function topkErrors(probs: Float32Array, classes: number, labels: Int32Array): { top1: number; top5: number } {
  let top1 = 0, top5 = 0;
  for (let n = 0; n < labels.length; n++) {
    const row = probs.subarray(n * classes, (n + 1) * classes);
    const p = row[labels[n]];
    // rank of the true class: how many classes score strictly higher (ties count for it)
    let higher = 0;
    for (let c = 0; c < classes; c++) if (row[c] > p) higher++;
    if (higher >= 1) top1++;
    if (higher >= 5) top5++;
  }
  return { top1, top5 };
}

/** Averages groups of `crops` consecutive rows of probs (N * crops, classes): the 10-crop test. */
export function averageCrops(probs: Float32Array, classes: number, crops: number): Float32Array {
  if (crops === 1) return probs;
  const n = probs.length / classes / crops;
  const out = new Float32Array(n * classes);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < crops; k++)
      for (let c = 0; c < classes; c++) out[i * classes + c] += probs[(i * crops + k) * classes + c] / crops;
  return out;
}

export function appendMetrics(file: string, m: EpochMetrics): void {
  fs.appendFileSync(file, JSON.stringify(m) + '\n');
}

/** An epoch's metrics as TensorBoard scalars, by tag. */
export function tensorboardScalars(m: EpochMetrics): Record<string, number> {
  return {
    'train/loss': m.train_loss, 'train/top1_error': m.train_top1_error, 'val/top1_error': m.val_top1_error,
    'val/top5_error': m.val_top5_error, 'lr': m.lr, 'images_per_second': m.images_per_second, 'epoch': m.epoch,
  };
}

/** The line printed after each epoch. */
export function formatEpoch(m: EpochMetrics, epochs: number): string {
  return `epoch ${m.epoch}/${epochs}: lr ${m.lr} loss ${m.train_loss.toFixed(4)} train top-1 err ${(100 * m.train_top1_error).toFixed(1)}% ` +
    `val top-1 err ${(100 * m.val_top1_error).toFixed(1)}% top-5 err ${(100 * m.val_top5_error).toFixed(1)}% ` +
    `${m.images_per_second.toFixed(0)} img/s (data ${m.data_seconds.toFixed(1)}s, compute ${m.compute_seconds.toFixed(1)}s)`;
}

/** m:ss, or --:-- while unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
