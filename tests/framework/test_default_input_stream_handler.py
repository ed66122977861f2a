"""Port of mediapipe/framework/stream_handler/default_input_stream_handler_test.cc: 1 of its 4 TESTs (the
others need batching).

Not expressible:
- Batches, BatchIsFlushedWhenClosing, DoesntPropagateTimestampWhenBatching: DefaultInputStreamHandlerOptions
  .batch_size (several input sets per process() call) does not exist in posegraph.
- timestamp_align_input_stream_handler_test.cc (Initialization, TickRate): posegraph has no
  TimestampAlignInputStreamHandler.
"""

from __future__ import annotations

import pytest

from .mp import Harness

pytestmark = pytest.mark.timeout(60)


def test_no_batching_works():
    """TEST(DefaultInputStreamHandlerTest, NoBatchingWorks) (batch_size 1, the default): an input runs once the
    other input's bound passed its timestamp; both run together at a shared timestamp."""
    h = Harness("""
input_stream: 'input0'  input_stream: 'input1'
node { calculator: 'PassThroughCalculator' input_stream: 'input0' input_stream: 'input1'
       output_stream: 'output0' output_stream: 'output1'
       input_stream_handler { input_stream_handler: 'DefaultInputStreamHandler' } }
""", ["output0", "output1"])
    h.send("input0", 1, 1)
    h.idle()
    assert h.got == {"output0": [], "output1": []}
    h.send("input1", 2, 2)
    h.idle()
    assert h.got == {"output0": [(1, 1)], "output1": []}
    h.send("input0", 2, 2)
    h.idle()
    assert h.got == {"output0": [(1, 1), (2, 2)], "output1": [(2, 2)]}
    h.close()
