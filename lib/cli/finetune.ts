// train's fine-tuning flags: --init-from, --freeze, --lr-mult.
import { FineTuneOptions, parseLrMult } from '../train/finetune';
import { FlagSpec, FlagValues } from './flags';

export const fineTuneFlags: Record<string, FlagSpec> = {
  'init-from': {
    type: 'string', value: 'FILE',
    help: "start from these weights (a checkpoint, a .pth or safetensors; torchvision's names are understood): layers of matching shape are loaded, the rest start afresh",
  },
  freeze: { type: 'string', value: 'LAYERS', help: 'layers kept fixed, e.g. conv1,conv2,conv3' },
  'lr-mult': { type: 'string', value: 'LAYER=M,...', help: 'per-layer learning-rate multipliers, e.g. fc8=10 (a new classifier learns faster)' },
};

export function fineTuneOptions(f: FlagValues): FineTuneOptions {
  const o: FineTuneOptions = {};
  if (f['init-from'] !== undefined) o.initFrom = f['init-from'] as string;
  if (f.freeze !== undefined) o.freeze = (f.freeze as string).split(',').map((s) => s.trim()).filter(Boolean);
  if (f['lr-mult'] !== undefined) o.lrMult = parseLrMult(f['lr-mult'] as string);
  return o;
}
