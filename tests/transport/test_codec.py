"""Raft messages survive the trip through protobuf bytes unchanged, whatever their fields.

Hypothesis draws every message kind with every field set or left at its default (uint64
extremes, empty and binary contexts, entries of both types, snapshots with and without data or
members), encodes, serializes, parses and decodes, and requires equality.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seshat.proto import raft_pb2 as pb
from seshat.raft.types import (
    ConfState,
    Entry,
    EntryType,
    Message,
    MessageType,
    Snapshot,
    SnapshotMetadata,
)
from seshat.transport import codec

u64 = st.integers(min_value=0, max_value=2**64 - 1)
ids = st.lists(u64, max_size=5, unique=True).map(lambda xs: tuple(sorted(xs)))

entries = st.builds(Entry, u64, u64, st.sampled_from(list(EntryType)), st.binary(max_size=64))
snapshots = st.builds(
    Snapshot,
    st.builds(SnapshotMetadata, u64, u64, st.builds(ConfState, ids, ids)),
    st.binary(max_size=256),
)
messages = st.builds(
    Message,
    st.sampled_from(list(MessageType)),
    u64,
    u64,
    u64,
    u64,
    u64,
    st.lists(entries, max_size=5).map(tuple),
    u64,
    st.booleans(),
    u64,
    st.none() | snapshots,
    st.binary(max_size=32),
)


def wire(m: Message, snapshot_data: bool = True) -> object:
    return pb.Message.FromString(codec.message_to_pb(m, snapshot_data).SerializeToString())


@given(messages)
def test_message_round_trip(m: Message) -> None:
    back = codec.message_from_pb(wire(m))
    assert back == m
    assert type(back.type) is MessageType
    assert all(type(e.type) is EntryType for e in back.entries)


@given(st.lists(messages, max_size=10), st.text(max_size=20), u64, u64)
def test_batch_round_trip(batch: list[Message], cluster_id: str, node: int, target: int) -> None:
    frame = pb.Batch.FromString(
        codec.encode_batch(cluster_id, node, target, batch).SerializeToString()
    )
    assert (frame.cluster_id, frame.node_id, frame.target_id) == (cluster_id, node, target)
    assert codec.decode_messages(frame) == batch


@given(snapshots, st.binary(max_size=64))
def test_snapshot_travels_without_data_and_gets_it_back(snap: Snapshot, data: bytes) -> None:
    m = Message(MessageType.MsgSnap, to=2, frm=1, term=3, snapshot=snap)
    header = wire(m, snapshot_data=False)
    assert header.snapshot.data == b""
    back = codec.message_from_pb(header, snapshot_data=data)
    assert back.snapshot == Snapshot(snap.metadata, data)


def test_an_empty_snapshot_is_not_none() -> None:
    m = Message(MessageType.MsgSnap, to=2, frm=1, snapshot=Snapshot())
    assert codec.message_from_pb(wire(m, snapshot_data=False)).snapshot == Snapshot()
    assert codec.message_from_pb(wire(m)).snapshot == Snapshot()


@pytest.mark.parametrize("field, value", [("type", 99), ("entry", 7)])
def test_unknown_kinds_are_the_peers_fault(field: str, value: int) -> None:
    pm = pb.Message(type=3)
    if field == "type":
        pm.type = value
    else:
        pm.entries.add(term=1, index=1, type=value)
    with pytest.raises(codec.CodecError):
        codec.message_from_pb(pm)
