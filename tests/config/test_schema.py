"""The committed descriptor set matches the .proto files, and the schema loads without protoc."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, text_format

import posegraph.config as config
from posegraph.config import regenerate, schema

pytestmark = pytest.mark.timeout(60)

HERE = Path(config.__file__).parent


def test_committed_descriptor_matches_proto():
    try:
        import grpc_tools.protoc  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - absent or incompatible with this protobuf
        pytest.skip(f"grpcio-tools not usable here: {exc}")
    fresh = descriptor_pb2.FileDescriptorSet()
    fresh.ParseFromString(regenerate.compile_descriptor_set())
    committed = descriptor_pb2.FileDescriptorSet()
    committed.ParseFromString((HERE / "graph.binpb").read_bytes())
    assert [f.name for f in fresh.file] == list(schema.PROTO_NAMES)
    assert fresh == committed, "graph.binpb is stale: run python -m posegraph.config.regenerate"


def test_schema_is_in_default_pool():
    pool = descriptor_pool.Default()
    assert pool.FindFileByName(schema.PROTO_NAME).package == "posegraph"
    node = pool.FindMessageTypeByName("posegraph.CalculatorGraphConfig.Node")
    names = {f.name for f in node.fields}
    assert {"name", "calculator", "input_stream", "output_stream", "input_side_packet", "output_side_packet",
            "options", "node_options", "input_stream_handler", "executor", "input_stream_info",
            "max_in_flight"} <= names
    graph = config.CalculatorGraphConfig.DESCRIPTOR
    assert {"node", "input_stream", "output_stream", "input_side_packet", "output_side_packet", "max_queue_size",
            "num_threads", "executor", "profiler_config", "type"} <= {f.name for f in graph.fields}
    options = pool.FindMessageTypeByName("posegraph.CalculatorOptions")
    assert options.extension_ranges and options.extension_ranges[0][0] == 20000


def test_mediapipe_style_text_parses():
    text = """
    type: "Sub"
    input_stream: "IMAGE:image"
    output_stream: "POSE:pose"
    max_queue_size: 4
    num_threads: 2
    executor { name: "inference" num_threads: 1 }
    profiler_config { trace_enabled: true trace_path: "/tmp/trace.json" }
    node {
      name: "n"
      calculator: "X"
      input_stream: "IMAGE:image"
      input_stream_handler { input_stream_handler: "ImmediateInputStreamHandler" }
      input_stream_info { tag_index: "IMAGE" back_edge: true }
      executor: "inference"
      max_in_flight: 2
    }
    """
    message, smap = config.parse_graph_text(text)
    assert message.node[0].input_stream_info[0].back_edge
    assert message.profiler_config.samples_per_node == 10000  # proto default
    assert message.node[0].max_in_flight == 2
    assert smap.line(("node", 0), ("executor", 0)) == 15  # line 1 is the empty first line
    assert text_format.MessageToString(message)


def test_regenerate_check_mode(capsys):
    try:
        import grpc_tools.protoc  # noqa: F401
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"grpcio-tools not usable here: {exc}")
    assert regenerate.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out
