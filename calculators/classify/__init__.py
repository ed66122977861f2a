"""Pose classification and exercise analytics: a TFLite pose classifier, k-NN classification on landmark
embeddings (any topology), joint angles, repetition counting with hysteresis, and their JSONL / on-frame output."""
