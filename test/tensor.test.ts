// Tensor lifecycle: creation, read back, views, dispose, use after dispose, and the garbage
// collector freeing what was never disposed.
import test from 'ava';
import { Device } from '../lib/core/device';
import * as ops from '../lib/core/ops';
import { releaseCachedMemory, Tensor } from '../lib/core/tensor';
import { backendInfo } from '../lib/core/info';
import { eachBackend } from './_backends';

eachBackend('fromArray, zeros, full read back exactly', (t, b) => {
  const x = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3], b.device);
  t.deepEqual(x.shape, [2, 3]);
  t.is(x.size, 6);
  t.is(x.rank, 2);
  t.is(String(x.device), b.device);
  t.deepEqual(Array.from(x.toFloat32Array()), [1, 2, 3, 4, 5, 6]);
  t.deepEqual(Array.from(Tensor.zeros([4], b.device).toFloat32Array()), [0, 0, 0, 0]);
  t.deepEqual(Array.from(Tensor.full([3], -1.5, b.device).toFloat32Array()), [-1.5, -1.5, -1.5]);
  const f = new Float32Array([0.1, 0.2]);
  const y = Tensor.fromArray(f, [2], b.device);
  f[0] = 9;  // the tensor holds a copy
  t.is(y.toFloat32Array()[0], Math.fround(0.1));
  y.write([7, 8]);
  t.deepEqual(Array.from(y.toFloat32Array()), [7, 8]);
});

eachBackend('dispose frees; using a disposed tensor throws naming the op; disposing twice is harmless', (t, b) => {
  const x = Tensor.fromArray([1, -1], [2], b.device);
  x.dispose();
  t.true(x.disposed);
  t.notThrows(() => x.dispose());
  t.throws(() => x.toFloat32Array(), { message: /Tensor\.toFloat32Array: Expected a live tensor for this but received a disposed tensor of shape \[2\]/ });
  t.throws(() => ops.relu(x), { message: /^relu: Expected a live tensor for x but received a disposed tensor/ });
  t.throws(() => x.reshape([1, 2]), { message: /disposed/ });
});

eachBackend('reshape is a view: it shares memory, and disposing the view leaves the base alive', (t, b) => {
  const x = Tensor.fromArray([1, 2, 3, 4, 5, 6], [1, 6], b.device);
  const v = x.reshape([2, 3]);
  t.deepEqual(v.shape, [2, 3]);
  ops.copy(Tensor.fromArray([6, 5, 4, 3, 2, 1], [2, 3], b.device), v);
  t.deepEqual(Array.from(x.toFloat32Array()), [6, 5, 4, 3, 2, 1]);
  v.dispose();
  t.deepEqual(Array.from(x.toFloat32Array()), [6, 5, 4, 3, 2, 1]);
  const w = x.reshape([6]);
  x.dispose();
  t.true(w.disposed, 'a view of a disposed base is disposed too');
  t.throws(() => w.toFloat32Array(), { message: /disposed/ });
  t.throws(() => Tensor.zeros([2, 3], b.device).reshape([4]), { message: /Tensor\.reshape: Expected a shape of 6 elements/ });
});

test('the garbage collector frees tensors that were never disposed', async (t) => {
  // 64 tensors of 32 MiB, each written (so the memory is really touched), none disposed:
  // 2 GiB in all. The addon reports its buffers to V8 as external memory, so V8 collects
  // them; Node runs native finalizers between event-loop turns, so the loop yields once per
  // step, as a training loop that awaits its data does.
  const before = process.memoryUsage().rss;
  let peak = 0;
  for (let i = 0; i < 64; i++) {
    await new Promise(setImmediate);
    const x = Tensor.zeros([8, 1024, 1024]);
    t.is(x.size, 8 * 1024 * 1024);
    peak = Math.max(peak, process.memoryUsage().rss - before);
  }
  t.log(`peak growth ${(peak / 2 ** 20).toFixed(0)} MiB`);
  t.true(peak < 2 ** 30, `resident memory grew by ${(peak / 2 ** 20).toFixed(0)} MiB`);
});

test('devices parse from names and reject bad ones with a clear error', (t) => {
  t.is(String(Device.parse('cpu')), 'cpu');
  t.is(String(Device.parse('cuda')), 'cuda:0');
  t.is(String(Device.parse('cuda:3')), 'cuda:3');
  t.is(String(Device.parse('cudnn')), 'cudnn:0');
  t.is(String(Device.parse('cudnn:1')), 'cudnn:1');
  const expected = `'cpu', 'cuda', 'cuda:N', 'cudnn' or 'cudnn:N'`;
  t.throws(() => Device.parse('gpu'), { message: `device: Expected ${expected} for device but received "gpu"` });
  t.throws(() => Tensor.zeros([2], 'cuda:x'), { message: `Tensor.zeros: Expected ${expected} for device but received "cuda:x"` });
});

test('a tensor on a CUDA device that is not there is a clear error, not a crash', (t) => {
  const info = backendInfo().cuda;
  const missing = `cuda:${info.devices.length}`;
  const err = t.throws(() => Tensor.zeros([2], missing));
  if (!info.built) t.regex(err!.message, /built without CUDA/);
  else t.regex(err!.message, new RegExp(`${missing}: no such CUDA device \\(this machine has ${info.devices.length}`));
});

test('bad shapes and data are rejected with what was expected', (t) => {
  t.throws(() => Tensor.zeros([2, 0]), { message: 'Tensor.zeros: Expected a non-empty array of positive integers for shape but received [2, 0]' });
  t.throws(() => Tensor.zeros([]), { message: /for shape but received \[\]/ });
  t.throws(() => Tensor.zeros([2.5]), { message: /for shape but received \[2\.5\]/ });
  t.throws(() => Tensor.fromArray([1, 2, 3], [2, 2]), { message: 'Tensor.fromArray: Expected 4 values for shape [2, 2] for data but received 3 values' });
  t.throws(() => Tensor.fromArray(null as unknown as number[], [1]), { message: /Expected an array or typed array/ });
  t.throws(() => Tensor.randn([2], { seed: -1 }), { message: /Tensor\.randn: Expected a non-negative integer below 2\^53 for seed but received -1/ });
  t.throws(() => Tensor.randn([2], { seed: 1, std: NaN }), { message: /for std but received NaN/ });
  t.throws(() => Tensor.full([2], NaN), { message: /Tensor\.full: Expected a number for value but received NaN/ });
  t.throws(() => Tensor.zeros([2]).write([1]), { message: /Tensor\.write: Expected 2 values for data/ });
});

test('disposed CPU memory is kept for reuse by size, and releaseCachedMemory returns it', (t) => {
  releaseCachedMemory();
  const info = () => backendInfo().cpu;
  t.is(info().cachedBytes, 0);
  t.true(info().cacheLimitBytes > 0);
  const a = Tensor.zeros([256, 1024]);  // 1 MiB
  a.dispose();
  t.is(info().cachedBytes, 2 ** 20);
  const b = Tensor.zeros([1024, 256]);  // the same size: the cached buffer is reused
  t.is(info().cachedBytes, 0);
  t.deepEqual(b.toFloat32Array().slice(0, 4), new Float32Array(4), 'zeros are zero even in a reused buffer');
  b.dispose();
  t.true(releaseCachedMemory() >= 2 ** 20, "returns the bytes freed (CPU and any CUDA cache)");
  t.is(info().cachedBytes, 0);
});
