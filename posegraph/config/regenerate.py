"""Rebuilds ``graph.binpb`` (the committed FileDescriptorSet of ``graph.proto`` and ``mediapipe_options.proto``)
with grpcio-tools.

Run after editing graph.proto, at development time only (the runtime never needs protoc)::

    pip install grpcio-tools
    python -m posegraph.config.regenerate          # rewrites posegraph/config/graph.binpb
    python -m posegraph.config.regenerate --check  # exit status 1 if the committed file is stale

The descriptor set holds graph.proto, then mediapipe_options.proto (which imports it), and no other imports and no
source info: google/protobuf/any.proto comes from the protobuf runtime's own pool.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO = HERE / "graph.proto"
BINPB = HERE / "graph.binpb"
PROTO_NAME = "posegraph/config/graph.proto"  # the file's name inside the descriptor pool
PROTO_NAMES = (PROTO_NAME, "posegraph/config/mediapipe_options.proto")  # in dependency order


def compile_descriptor_set() -> bytes:
    """Compile the .proto files with grpcio-tools' bundled protoc; returns the serialized FileDescriptorSet."""
    import importlib.resources

    from grpc_tools import protoc  # development dependency only

    include = str(importlib.resources.files("grpc_tools") / "_proto")
    root = HERE.parent.parent  # so that the file is named posegraph/config/graph.proto
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "graph.binpb"
        rc = protoc.main(["protoc", f"-I{root}", f"-I{include}", f"--descriptor_set_out={out}",
                          *(str(root / name) for name in PROTO_NAMES)])
        if rc != 0:
            raise RuntimeError(f"protoc failed with exit status {rc} on {PROTO}")
        return out.read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the committed graph.binpb")
    args = parser.parse_args(argv)
    data = compile_descriptor_set()
    if args.check:
        from google.protobuf import descriptor_pb2

        fresh, committed = descriptor_pb2.FileDescriptorSet(), descriptor_pb2.FileDescriptorSet()
        fresh.ParseFromString(data)
        committed.ParseFromString(BINPB.read_bytes())
        if fresh != committed:
            print(f"{BINPB} is stale: run python -m posegraph.config.regenerate", file=sys.stderr)
            return 1
        print(f"{BINPB} is up to date")
        return 0
    BINPB.write_bytes(data)
    print(f"wrote {BINPB} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
