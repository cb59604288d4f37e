"""Using and explaining a trained model: predictions, image preprocessing and uploads, test-set
evaluation and saliency maps."""
