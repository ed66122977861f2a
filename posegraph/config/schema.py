"""Loads the graph schema (``graph.binpb``, compiled from ``graph.proto``) into protobuf's default pool.

No protoc and no generated ``_pb2`` module: the committed FileDescriptorSet is added to
``descriptor_pool.Default()`` and turned into classes with ``message_factory.GetMessageClassesForFiles``, which works
the same on protobuf 4.25 through 7.x with both the upb and the pure-Python implementation.
"""

from __future__ import annotations

from importlib import resources

from google.protobuf import any_pb2  # noqa: F401  (puts google/protobuf/any.proto into the default pool)
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PROTO_NAME = "posegraph/config/graph.proto"
PROTO_NAMES = (PROTO_NAME, "posegraph/config/mediapipe_options.proto")  # the handler options under MediaPipe's names
PACKAGE = "posegraph"


def _load() -> dict:
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(PROTO_NAME)
    except KeyError:
        data = (resources.files(__package__) / "graph.binpb").read_bytes()
        file_set = descriptor_pb2.FileDescriptorSet()
        file_set.ParseFromString(data)
        for file_proto in file_set.file:
            pool.AddSerializedFile(file_proto.SerializeToString())
    return message_factory.GetMessageClassesForFiles(list(PROTO_NAMES), pool)


_classes = _load()

CalculatorGraphConfig = _classes[f"{PACKAGE}.CalculatorGraphConfig"]
Node = message_factory.GetMessageClass(CalculatorGraphConfig.DESCRIPTOR.nested_types_by_name["Node"])
CalculatorOptions = _classes[f"{PACKAGE}.CalculatorOptions"]
InputStreamHandlerConfig = _classes[f"{PACKAGE}.InputStreamHandlerConfig"]
InputStreamInfo = _classes[f"{PACKAGE}.InputStreamInfo"]
ExecutorConfig = _classes[f"{PACKAGE}.ExecutorConfig"]
ProfilerConfig = _classes[f"{PACKAGE}.ProfilerConfig"]

__all__ = ["CalculatorGraphConfig", "Node", "CalculatorOptions", "InputStreamHandlerConfig", "InputStreamInfo",
           "ExecutorConfig", "ProfilerConfig", "PROTO_NAME", "PACKAGE"]
