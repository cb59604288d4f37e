"""A trained model and its runs out of the lab: ONNX (Netron, onnxruntime) and TensorBoard logs."""
