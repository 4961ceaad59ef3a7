// Validation: top-1 and top-5 error over a loader, with the centre crop or the paper's 10.
import { DeviceLike } from '../core/device';
import { Tensor } from '../core/tensor';
import { DataLoader } from '../data/loader';
import { SoftmaxCrossEntropy } from '../nn/layers';
import { Model } from '../nn/model';
import { averageCrops, topkErrors } from './metrics';

/** Validation top-1 and top-5 error (centre crop, or the paper's 10 crops averaged); batches go to `device` (default: the model's input device). */
export async function evaluate(net: Model, loader: DataLoader, device: DeviceLike = net.inputDevice): Promise<{ top1: number; top5: number; count: number }> {
  const classes = net.outputShape[0];
  const crops = loader.config.mode === 'tencrop' ? 10 : 1;
  const xent = new SoftmaxCrossEntropy();
  let top1 = 0, top5 = 0, count = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      const x = Tensor.fromArray(batch.images, batch.shape, device);
      const logits = net.forward(x, { training: false, seed: 0, step: 0 });
      const repeated = crops === 1 ? batch.labels : Int32Array.from({ length: batch.labels.length * crops }, (_, i) => batch.labels[Math.floor(i / crops)]);
      xent.forward(logits, repeated);
      const probs = averageCrops(xent.probabilities().toFloat32Array(), classes, crops);
      const e = topkErrors(probs, classes, batch.labels);
      top1 += e.top1;
      top5 += e.top5;
      count += batch.labels.length;
      x.dispose();
      logits.dispose();
      loader.release(batch);
    }
  } finally {
    xent.dispose();
  }
  return { top1: count ? top1 / count : NaN, top5: count ? top5 / count : NaN, count };
}
