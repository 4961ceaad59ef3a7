// nn: the network as data (spec.ts: layer specs, AlexNet and its variants), the layers over
// the core ops, one factory from spec to layer, and the Model interface with its kinds: the
// single-device Network and the paper's two columns. Imports core and io only.
export { alexnet, paperOptions, inferShapes, summarize, formatSummary, weightShape, LayerSpec, ModelConfig, ModelOptions, SampleShape } from './spec';
export { Context, Layer, Param, SoftmaxCrossEntropy } from './layers';
export { makeLayer, dropoutStreams, fusedRelus, fuseByDefault } from './factory';
export { Model } from './model';
export { Network } from './network';
export { ColumnNetwork, AnyNetwork } from './columns/network';
export { columnPlan, columnTraffic, convertParams, paramPieces } from './columns/plan';
export { buildNetwork } from './build';
