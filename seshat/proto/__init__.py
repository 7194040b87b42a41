"""The node-to-node wire contract (`raft.proto`) and its generated modules.

`raft_pb2` and `raft_pb2_grpc` are generated, never committed: `python -m seshat.proto.build`
writes them, and importing this package writes them first when they are missing or older than
`raft.proto`, so a plain `pip install -e .` works without a build step. Import them as
`from seshat.proto import raft_pb2, raft_pb2_grpc`.
"""

from __future__ import annotations

import importlib
from typing import Any

from seshat.proto import _generate

if _generate.is_stale():
    try:
        _generate.build()
    except Exception as error:  # no grpcio-tools, read-only install dir, protoc error
        raise ImportError(
            f"cannot generate seshat/proto/raft_pb2*.py ({error}); "
            "run `python -m seshat.proto.build` where grpcio-tools is installed"
        ) from error

# The generated modules carry no type information (protoc's .pyi output would need a
# .gitignore entry of its own); typed as Any here, checked by the round-trip tests instead.
raft_pb2: Any = importlib.import_module("seshat.proto.raft_pb2")
raft_pb2_grpc: Any = importlib.import_module("seshat.proto.raft_pb2_grpc")
