// Runs each test case once per backend: cpu always; cuda and cudnn where this build and
// this machine can use them, and otherwise a skipped test whose title says why. With the
// emulator build (ALEXNET_NATIVE_ADDON=build-emulator/..., `npm run test:emulator`) the cuda
// cases run the CUDA kernels on the host emulator.
import test, { ExecutionContext } from 'ava';
import { backendInfo } from '../lib/core/info';

export interface Backend {
  name: 'cpu' | 'cuda' | 'cudnn';
  device: string;
  available: boolean;
  reason: string;
}

export function backends(): Backend[] {
  const info = backendInfo();
  const cudaReason = !info.cuda.built
    ? 'not built with CUDA'
    : !info.cuda.usable
      ? `no usable CUDA device (${info.cuda.reason})`
      : !info.cuda.ops
        ? 'this build has no CUDA ops yet'
        : '';
  return [
    { name: 'cpu', device: 'cpu', available: true, reason: '' },
    { name: 'cuda', device: 'cuda:0', available: cudaReason === '', reason: cudaReason },
    {
      name: 'cudnn',
      device: 'cudnn:0',
      available: cudaReason === '' && info.cudnn.built && info.cudnn.usable,
      reason: cudaReason || (info.cudnn.built ? `cuDNN not usable (${info.cudnn.reason})` : 'not built with cuDNN'),
    },
  ];
}

/** Registers `title` once per backend; unavailable backends show up as skipped, with the reason. */
export function eachBackend(title: string, body: (t: ExecutionContext, backend: Backend) => void | Promise<void>): void {
  for (const b of backends()) {
    if (b.available) test(`${b.name}: ${title}`, (t) => body(t, b));
    else test.skip(`${b.name}: ${title} (skipped: ${b.reason})`, () => {});
  }
}
