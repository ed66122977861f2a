"""OpenPose-style bottom-up multi-person decoding: heatmap peaks, part-affinity-field limbs, greedy assembly."""
