"""Upstream per-frame loops that tools/bench_upstream.py times against posegraph, one module per project.

Each is re-implemented here from the upstream project's published source (read, not copied), with the model files
posegraph ships and the same runtime, so that the benchmark compares equivalent work.
"""
