// tools: what is done with a trained network: predict (Figure 4, left), filters (Figure 3),
// features and neighbors (Figure 4, right), the HTML report of a run, and ONNX export.
// Imports train, nn, data, io and core; never cli.
export { loadPredictor, predict, classify, filterImage, readSynsets, Prediction } from './predict';
export { extractFeatures, nearest, readFeatures, contactSheet, FeatureIndex } from './features';
export { writeReport, lineChart } from './report';
export { exportOnnx, exportCheckpoint } from './export';
