"""MoveNet single-pose: model-sized crops, output decoding and smart cropping (crop from the previous keypoints)."""
