// Data-pipeline throughput: `node benchmarks/data.js [--images 1000] [--side 300..500] [--workers 0,1,2]
// [--batch 128] [--seconds 8] [--dir .cache/bench-data]`.
// 1. Writes a synthetic JPEG set whose image sides are drawn from --side (ImageNet photos are
//    about 400x350), 2. times `prepare` to 256x256 shards (images/s, decoding concurrency),
// 3. times the training loader (random 227 crops, flips, PCA lighting, mean subtraction,
//    float32 NCHW batches) for each worker count, in augmented images/s.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DataLoader } from '../lib/data/loader';
import { prepare } from '../lib/data/prepare';
import { generateSynthetic } from '../lib/data/synthetic';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main() {
  const images = Number(arg('--images', '1000'));
  const [minSide, maxSide] = arg('--side', '300..500').split('..').map(Number);
  const workerCounts = arg('--workers', '0,1,2').split(',').map(Number);
  const batchSize = Number(arg('--batch', '128'));
  const seconds = Number(arg('--seconds', '8'));
  const root = arg('--dir', path.join('.cache', 'bench-data'));
  const src = path.join(root, 'source'), out = path.join(root, 'prepared');
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  let t0 = Date.now();
  const syn = await generateSynthetic({ out: src, seed: 0, trainPerClass: Math.ceil(images / 10), valPerClass: 1, minSide, maxSide, quality: 90 });
  console.log(`synthetic JPEGs (${minSide}..${maxSide} px): ${syn.train} train ${syn.cached ? '(cached)' : `written in ${((Date.now() - t0) / 1000).toFixed(1)} s`}`);
  fs.rmSync(out, { recursive: true, force: true });
  t0 = Date.now();
  const s = await prepare({ data: src, out, log: () => {}, progress: false });
  console.log(`prepare: ${s.decoded} images to 256x256 in ${s.seconds.toFixed(1)} s = ${s.imagesPerSecond.toFixed(0)} images/s ` +
    `(decode concurrency ${Math.max(4, os.cpus().length)}, libuv pool ${process.env.UV_THREADPOOL_SIZE ?? 4})`);
  for (const workers of workerCounts) {
    const loader = new DataLoader(out, { batchSize, crop: 227, workers, seed: 1 });
    let n = 0, epoch = 0;
    // Warm up (worker start, page cache) with one batch.
    for await (const b of loader.epoch(epoch++)) { void b; break; }
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < seconds) {
      for await (const b of loader.epoch(epoch++)) {
        n += b.shape[0];
        loader.release(b);
        elapsed = Number(process.hrtime.bigint() - start) / 1e9;
        if (elapsed >= seconds) break;
      }
    }
    await loader.close();
    console.log(`loader: workers ${workers}, batch ${batchSize}, 227 crops + flip + lighting + mean: ${(n / elapsed).toFixed(0)} images/s (${n} images in ${elapsed.toFixed(1)} s)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
