"""Multi-person tracking: detection scheduling and tiling, track assignment, per-track results and smoothing.

The calculators here turn a single-person landmark pipeline into a multi-person one (graphs/
pose_landmark_multi_cpu.pbtxt): the detector runs on some frames only (`schedule`), optionally on overlapping
windows of the image as well as the whole image (`tiles`); its detections that do not overlap a tracked person
become new tracks (`assign`); BeginLoop/EndLoop run the landmark subgraph once per track (`person`); the results
update the tracks carried to the next frame through a back edge (`update`); landmarks are smoothed per track id
(`track_smoothing`). Matching is pure functions over arrays (`matching`), payloads in `types`.
"""
