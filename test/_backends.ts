// Runs each test case once per backend: cpu always; cuda and cudnn where this build and
// this machine can use them, and otherwise a skipped test whose title says why. With the
// emulator build (ALEXNET_NATIVE_ADDON=build-emulator/..., `npm run test:emulator`) the cuda
// cases run the CUDA kernels on the host emulator.
import test, { ExecutionContext } from 'ava';
import { Device, deviceStatus } from '../lib/core/device';

export interface Backend {
  name: 'cpu' | 'cuda' | 'cudnn';
  device: string;
  available: boolean;
  reason: string;
}

export function backends(): Backend[] {
  return (['cpu', 'cuda:0', 'cudnn:0'] as const).map((device) => {
    const status = deviceStatus(device);
    return { name: Device.parse(device).kind, device, available: status.usable, reason: status.reason };
  });
}

/** Registers `title` once per backend; unavailable backends show up as skipped, with the reason. */
export function eachBackend(title: string, body: (t: ExecutionContext, backend: Backend) => void | Promise<void>): void {
  for (const b of backends()) {
    if (b.available) test(`${b.name}: ${title}`, (t) => body(t, b));
    else test.skip(`${b.name}: ${title} (skipped: ${b.reason})`, () => {});
  }
}
