"""Raft `Message` <-> protobuf `seshat.raft.v1.Message`, and batches of them.

The transport's hot path: every Raft message a node sends or receives passes through here once.
Both directions build objects field by field with positional constructors and table lookups
(no `MessageType(n)` enum calls, no `HasField` on every entry), because that is what keeps a
64-message batch well under a millisecond (`bench/bench_transport.py --codec` measures it).

A message from a peer that names an unknown message or entry type is the peer's fault: it
raises `CodecError`, and the stream that carried it is closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

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

_MESSAGE_TYPES: dict[int, MessageType] = {int(t): t for t in MessageType}
_ENTRY_TYPES: dict[int, EntryType] = {int(t): t for t in EntryType}


class CodecError(ValueError):
    """A peer sent something that is not a valid Raft message."""


# ------------------------------------------------------------------ encode


def _fill_snapshot(target: Any, snapshot: Snapshot, with_data: bool) -> None:
    meta = snapshot.metadata
    pmeta = target.metadata
    pmeta.index = meta.index
    pmeta.term = meta.term
    pconf = pmeta.conf_state
    pconf.voters.extend(meta.conf_state.voters)
    pconf.learners.extend(meta.conf_state.learners)
    if with_data:
        target.data = snapshot.data
    else:
        target.SetInParent()  # present even when metadata is all zeros


def fill_message(pm: Any, m: Message, snapshot_data: bool = True) -> None:
    """Write `m` into the empty protobuf message `pm` (`snapshot_data=False` leaves data out)."""
    pm.type = m.type
    if m.to:
        pm.to = m.to
    if m.frm:
        pm.frm = m.frm
    if m.term:
        pm.term = m.term
    if m.log_term:
        pm.log_term = m.log_term
    if m.index:
        pm.index = m.index
    if m.commit:
        pm.commit = m.commit
    if m.reject:
        pm.reject = True
    if m.reject_hint:
        pm.reject_hint = m.reject_hint
    if m.context:
        pm.context = m.context
    if m.entries:
        add = pm.entries.add
        for e in m.entries:
            if e.type:
                add(term=e.term, index=e.index, type=e.type, data=e.data)
            else:
                add(term=e.term, index=e.index, data=e.data)
    if m.snapshot is not None:
        _fill_snapshot(pm.snapshot, m.snapshot, snapshot_data)


def message_to_pb(m: Message, snapshot_data: bool = True) -> Any:
    pm = pb.Message()
    fill_message(pm, m, snapshot_data)
    return pm


def encode_batch(cluster_id: str, node_id: int, target_id: int, messages: Iterable[Message]) -> Any:
    """One `Batch` frame holding `messages` (none of them a MsgSnap with data to ship)."""
    batch = pb.Batch(cluster_id=cluster_id, node_id=node_id, target_id=target_id)
    add = batch.messages.add
    for m in messages:
        fill_message(add(), m)
    return batch


# ------------------------------------------------------------------ decode


def snapshot_from_pb(ps: Any, data: bytes | None = None) -> Snapshot:
    pmeta = ps.metadata
    pconf = pmeta.conf_state
    meta = SnapshotMetadata(
        index=pmeta.index,
        term=pmeta.term,
        conf_state=ConfState(tuple(pconf.voters), tuple(pconf.learners)),
    )
    return Snapshot(metadata=meta, data=ps.data if data is None else data)


# Frozen slotted dataclasses set each field through `object.__setattr__` in `__init__`, which
# costs about twice as much as calling the slot descriptors directly; decoding builds every
# Message and Entry this way. The asserts pin the field order the setters rely on: a field added
# to either class fails here at import, and the hypothesis round trip checks the rest.
assert Message.__slots__ == (
    "type", "to", "frm", "term", "log_term", "index", "entries", "commit", "reject",
    "reject_hint", "snapshot", "context",
), Message.__slots__  # fmt: skip
assert Entry.__slots__ == ("term", "index", "type", "data"), Entry.__slots__
_M_SET = tuple(getattr(Message, name).__set__ for name in Message.__slots__)
_E_SET = tuple(getattr(Entry, name).__set__ for name in Entry.__slots__)


def _make_decoders() -> tuple[Callable[[Any], tuple[Entry, ...]], Callable[..., Message]]:
    # Closures: the setters and tables are cell variables, cheaper to reach than globals.
    e_term, e_index, e_type, e_data = _E_SET
    s_type, s_to, s_frm, s_term, s_log_term, s_index, s_entries, s_commit = _M_SET[:8]
    s_reject, s_reject_hint, s_snapshot, s_context = _M_SET[8:]
    message_types = _MESSAGE_TYPES
    entry_types = _ENTRY_TYPES
    new = object.__new__

    def entries_from_pb(pentries: Any) -> tuple[Entry, ...]:
        out: list[Entry] = []
        append = out.append
        for pe in pentries:
            e = new(Entry)
            e_term(e, pe.term)
            e_index(e, pe.index)
            kind = entry_types.get(pe.type)
            if kind is None:
                raise CodecError(f"unknown entry type {pe.type}")
            e_type(e, kind)
            e_data(e, pe.data)
            append(e)
        return tuple(out)

    def message_from_pb(pm: Any, snapshot_data: bytes | None = None) -> Message:
        """The Raft message in `pm`; `snapshot_data` replaces the snapshot's data if given."""
        kind = message_types.get(pm.type)
        if kind is None:
            raise CodecError(f"unknown message type {pm.type}")
        m = new(Message)
        s_type(m, kind)
        s_to(m, pm.to)
        s_frm(m, pm.frm)
        s_term(m, pm.term)
        s_log_term(m, pm.log_term)
        s_index(m, pm.index)
        pentries = pm.entries
        s_entries(m, entries_from_pb(pentries) if pentries else ())
        s_commit(m, pm.commit)
        s_reject(m, pm.reject)
        s_reject_hint(m, pm.reject_hint)
        if pm.HasField("snapshot"):
            s_snapshot(m, snapshot_from_pb(pm.snapshot, snapshot_data))
        else:
            s_snapshot(m, None)
        s_context(m, pm.context)
        return m

    return entries_from_pb, message_from_pb


_entries_from_pb, message_from_pb = _make_decoders()


def decode_messages(batch: Any) -> list[Message]:
    return [message_from_pb(pm) for pm in batch.messages]
