// io: file formats, with no knowledge of networks or training: safetensors (checkpoints,
// feature indexes), atomic writes, and the ONNX protobuf encoder. Imports core only.
export { encodeSafetensors, decodeSafetensors, readSafetensorsFile, writeFileAtomic, NamedArray, SafeTensors } from './safetensors';
export { encodeModel, onnxNode, onnxTensor, OnnxAttr, OnnxValue, Writer } from './onnx';
