"""`python -m seshat.proto.build`: regenerate `raft_pb2.py` and `raft_pb2_grpc.py` (see `_generate`)."""

from __future__ import annotations

from seshat.proto._generate import ROOT, build


def main() -> int:
    for path in build():
        print(f"generated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
