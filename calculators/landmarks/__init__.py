"""Landmark math: tensor decoding, heatmap refinement, projection, ROI from landmarks, temporal smoothing."""
