"""Image-side math shared by pose graphs: rotated-ROI crops to tensors, letterbox handling."""
