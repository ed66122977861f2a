"""Core calculators: stream plumbing that every graph uses (MediaPipe's calculators/core)."""

from . import (begin_end_loop, constant_side_packet, flow_limiter, gate, merge, mux, packet_presence,
               pass_through, previous_loopback, split_vector, thresholding)

__all__ = ["begin_end_loop", "constant_side_packet", "flow_limiter", "gate", "merge", "mux", "packet_presence",
           "pass_through", "previous_loopback", "split_vector", "thresholding"]
