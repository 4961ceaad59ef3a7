// The binding reads each op's parameter object through one table per struct, the table that
// paramSchema() lists: every key listed is read (a call without it fails naming it), and a
// call with every key listed gets past the parameters.
import test from 'ava';
import { native } from '../lib/core/native';

type Op = (...args: unknown[]) => unknown;

// A value of each type that every op accepts (dropout's p included).
const valid = { integer: 1, number: 0.5, uint32: 0 } as const;

function call(name: string, params: Record<string, unknown>): string {
  const n = native();
  // the parameter object is the op's last argument, read before the tensors that precede it
  // (only a leading tensor's count is read first), so it goes in every slot but the first
  const buf = new n.NativeBuffer('cpu', 0, 1, true);
  try {
    (n[name as keyof typeof n] as unknown as Op)(buf, params, params, params, params, params);
    return '';
  } catch (err) {
    return (err as Error).message;
  } finally {
    buf.free();
  }
}

test('paramSchema lists the ops that take a parameter object, each key typed', (t) => {
  const schema = native().paramSchema();
  t.deepEqual(Object.keys(schema).sort(), [
    'conv2dBackwardData', 'conv2dBackwardFilter', 'conv2dForward', 'dropoutForwardEval', 'dropoutForwardTrain',
    'fillNormal', 'gemm', 'linearBackwardData', 'linearBackwardParams', 'linearForward', 'lrnBackward', 'lrnForward',
    'maxpoolBackward', 'maxpoolForward', 'sgdUpdate', 'softmaxXentBackward', 'softmaxXentForward',
  ]);
  t.is(schema.conv2dForward.struct, 'ConvParams');
  t.deepEqual(Object.keys(schema.conv2dForward.keys), ['n', 'c', 'h', 'w', 'k', 'kh', 'kw', 'strideH', 'strideW', 'padH', 'padW', 'groups', 'relu']);
  t.is(schema.conv2dForward.keys.relu, 'boolean');
  t.is(schema.linearForward.keys.relu, 'boolean');
  for (const entry of Object.values(schema))
    for (const type of Object.values(entry.keys)) t.true(['integer', 'number', 'uint32', 'boolean'].includes(type));
});

test('the binding reads exactly the keys paramSchema lists', (t) => {
  for (const [name, entry] of Object.entries(native().paramSchema())) {
    const full: Record<string, unknown> = {};
    for (const [key, type] of Object.entries(entry.keys)) full[key] = type === 'boolean' ? false : valid[type];
    const complete = call(name, full);
    t.notRegex(complete, /parameter/, `${name} with every listed key`);
    for (const [key, type] of Object.entries(entry.keys)) {
      if (type === 'boolean') continue;  // a missing flag reads as false
      const { [key]: _, ...without } = full;
      t.regex(call(name, without), new RegExp(`: parameter ${key} must be a number$`), `${name} without ${key}`);
    }
  }
});
