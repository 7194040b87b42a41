"""Linearizability checking by depth-first search over linearization orders (WGL).

Theory of operation
-------------------
A history is linearizable if each op can be given one instant between its invoke and its
complete such that applying the ops in that order to a sequential model reproduces every output
(Herlihy & Wing). The search is the one of Wing & Gong as improved by Lowe ("Testing for
linearizability", 2017) and used by Porcupine:

1. **Partition.** Ops on different keys of a key-value store are independent registers, and a
   history is linearizable iff each key's sub-history is (linearizability is local). Checking
   five keys of 2,000 ops each is vastly cheaper than one history of 10,000.
2. **Entry list.** Each ``ok`` op becomes a *call* entry at its invoke and a *return* entry at
   its complete, in one doubly linked list sorted by time (calls before returns at equal times,
   so equal instants count as concurrent). The ops that may be linearized next are exactly the
   call entries before the first return entry: the op owning that return must take effect
   before its completion, so nothing invoked after it can come first.
3. **Lift / unlift.** Linearizing an op unlinks its two entries in O(1); backtracking relinks
   them in reverse order (the classic dancing-links trick), so the list always shows the ops
   still to place.
4. **Memoisation.** A search node is (set of linearized ops, model state). Two paths that reach
   the same node have the same future, so each node is explored once. The set is a bitset held
   in a Python ``int``: union, test and hash are C loops over machine words.

Uncertain ops
-------------
- ``fail`` ops did not happen: dropped before the search.
- ``info`` ops that cannot change the state (reads, per `Model.is_read_only`) constrain
  nothing, since they may not have happened: dropped.
- Other ``info`` ops (and ops that never completed) may take effect at any instant after their
  invoke, or never. They get no return entry; they live in a second list, and one is a candidate
  whenever its invoke is not after the first pending return. The search succeeds once every
  ``ok`` op is placed, whatever info ops are left over. Candidates are tried ``ok`` ops first,
  info ops last, because most histories are explained without the uncertain writes.
- **Dominance.** Info ops are optional, so a node that has consumed a *superset* of another
  node's info ops, with the same ``ok`` ops placed and the same state, has no future the other
  lacks. The cache therefore stores, per (ok-bitset, state), the info-bitsets seen, and prunes a
  node whose info-bitset contains one of them. Without this, k pending info writes multiply the
  search by up to 2^k; with it, a consumed-and-overwritten info write costs nothing.
  (Soundness: along any path the pair (#ok placed, shortest remaining success) improves
  lexicographically from a visited node to the node that prunes its child, so a failed search
  cannot have missed a success.)

When a key's history is not linearizable, the report names the op the search could never get
past at its deepest point (the longest linearizable prefix) and shows the ops concurrent with
it plus the last ops placed before it: that is where a person should look.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from seshat.check.history import Op, Record, ops_of
from seshat.check.result import CheckResult


class Model(Protocol):
    """A sequential specification: what one op does to a state, and whether its output fits.

    States must be hashable and compared by value: the search memoises on them.
    """

    def init(self) -> Hashable:
        """The state before any op."""
        ...

    def step(self, state: Any, op: Op) -> tuple[bool, Any]:
        """Apply ``op`` to ``state``: (is this op's output possible here, the state after).

        For an ``info`` op the output is unknown and must be ignored; ``ok`` is then whether
        the op could take effect at all in ``state`` (a cas whose comparison fails cannot).
        """
        ...

    def is_read_only(self, op: Op) -> bool:
        """True if ``op`` never changes the state, so an ``info`` copy of it can be dropped."""
        ...


class RegisterModel:
    """A read/write/compare-and-set register, one per key; the initial value is ``None``.

    ``read`` outputs the value; ``write`` sets ``value``; ``cas`` has ``value=(expected, new)``
    and, being recorded ``ok`` only when the swap happened, steps only from ``expected``.
    """

    def __init__(self, initial: Hashable = None) -> None:
        self.initial = initial

    def init(self) -> Hashable:
        return self.initial

    def step(self, state: Any, op: Op) -> tuple[bool, Any]:
        kind = op.kind
        if kind == "read":
            return (op.status == "info" or op.output == state), state
        if kind == "write":
            return True, op.value
        if kind == "cas":
            expected, new = op.value
            if state == expected:
                return True, new
            return False, state
        raise ValueError(f"register model cannot apply {op.kind!r}: {op.describe()}")

    def is_read_only(self, op: Op) -> bool:
        return op.kind == "read"


class SearchBudgetExceeded(RuntimeError):
    """The search visited more nodes than allowed: no verdict either way.

    Raised rather than returned as "invalid" because an unknown result must not be mistaken
    for a found bug (nor for a pass).
    """


class _Entry:
    """A node of the entry list. A call entry's ``match`` is its return entry, and vice versa."""

    __slots__ = ("op", "is_call", "time", "bit", "signature", "match", "prev", "next")

    def __init__(self, op: Op | None, is_call: bool, time: float, bit: int) -> None:
        self.op = op
        # Info ops with equal (kind, value) are interchangeable once both are invoked: their
        # outputs are ignored and neither has a deadline.
        self.signature: tuple[str, Any] = ("", None) if op is None else (op.kind, op.value)
        self.is_call = is_call
        self.time = time
        self.bit = bit
        self.match: _Entry | None = None
        self.prev: _Entry | None = None
        self.next: _Entry | None = None


def _link(entries: list[_Entry]) -> _Entry:
    """Chain entries into a doubly linked list behind a sentinel head, which is returned."""
    head = _Entry(None, False, float("-inf"), 0)
    prev = head
    for entry in entries:
        prev.next = entry
        entry.prev = prev
        prev = entry
    return head


def _unlink(entry: _Entry) -> None:
    prev = entry.prev
    nxt = entry.next
    assert prev is not None, entry.op
    prev.next = nxt
    if nxt is not None:
        nxt.prev = prev


def _relink(entry: _Entry) -> None:
    # Valid only in LIFO order with _unlink: entry.prev/next still point at the neighbours it
    # had when it was removed, and those have been restored first.
    prev = entry.prev
    assert prev is not None, entry.op
    prev.next = entry
    if entry.next is not None:
        entry.next.prev = entry


@dataclass(slots=True)
class _Deepest:
    """Where the search got furthest: the evidence for an invalid verdict."""

    placed: int = -1
    blocker: Op | None = None
    tail: tuple[Op, ...] = ()
    states: list[Any] | None = None


_TAIL_OPS = 4
_STATES_SHOWN = 8
_WINDOW_MAX = 24


def _build(ops: list[Op], model: Model) -> tuple[_Entry, _Entry, int]:
    """Entry lists for one partition: (definite list head, info list head, #definite ops)."""
    definite: list[Op] = []
    uncertain: list[Op] = []
    for op in ops:
        if op.status == "fail":
            continue
        if op.status == "info" or op.complete is None:
            if not model.is_read_only(op):
                uncertain.append(op)
            continue
        definite.append(op)
    events: list[tuple[float, int, int, _Entry]] = []
    for index, op in enumerate(definite):
        bit = 1 << index
        assert op.complete is not None
        call = _Entry(op, True, float(op.invoke), bit)
        ret = _Entry(op, False, float(op.complete), bit)
        call.match = ret
        ret.match = call
        # (time, calls-before-returns, index) gives a total, deterministic order.
        events.append((call.time, 0, index, call))
        events.append((ret.time, 1, index, ret))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    uncertain.sort(key=lambda op: (op.invoke, op.process))
    infos = [_Entry(op, True, float(op.invoke), 1 << i) for i, op in enumerate(uncertain)]
    return _link([e[3] for e in events]), _link(infos), len(definite)


def _search(
    ops: list[Op], model: Model, max_visited: int | None
) -> tuple[bool, _Deepest, int]:
    """WGL search over one partition: (linearizable?, deepest failure point, nodes visited)."""
    head, info_head, _ = _build(ops, model)
    state: Any = model.init()
    dbits = 0  # ok ops placed
    ibits = 0  # info ops placed
    placed = 0
    # Stack frames: (entry placed, was it an info op, state before, blocking return entry,
    # info signatures already tried at that node).
    stack: list[tuple[_Entry, bool, Any, _Entry | None, set[tuple[str, Any]] | None]] = []
    cache: dict[tuple[int, Any], list[int]] = {}
    deepest = _Deepest()
    visited = 0
    step = model.step

    entry: _Entry | None = head.next
    info: _Entry | None = None
    blocker: _Entry | None = None  # first pending return; set when scanning info candidates
    tried: set[tuple[str, Any]] = set()  # info signatures tried at the current node
    while head.next is not None:
        if blocker is None:
            # Phase 1: ok ops invoked before the first pending return, in list order.
            assert entry is not None  # a return always follows its call in the list
            if not entry.is_call:
                blocker = entry
                info = info_head.next
                tried = set()
                continue
            ok, new_state = step(state, entry.op)  # type: ignore[arg-type]
            if ok:
                new_dbits = dbits | entry.bit
                if _first_visit(cache, new_dbits, new_state, ibits):
                    visited += 1
                    stack.append((entry, False, state, None, None))
                    state, dbits = new_state, new_dbits
                    placed += 1
                    match = entry.match
                    assert match is not None
                    _unlink(entry)
                    _unlink(match)
                    entry = head.next
                    continue
            entry = entry.next
            continue
        # Phase 2: info ops invoked no later than the blocking return.
        if info is not None and info.time <= blocker.time:
            signature = info.signature
            if signature in tried:
                # An earlier, identical info op is also available here: same futures.
                info = info.next
                continue
            tried.add(signature)
            ok, new_state = step(state, info.op)  # type: ignore[arg-type]
            if ok:
                new_ibits = ibits | info.bit
                if _first_visit(cache, dbits, new_state, new_ibits):
                    visited += 1
                    stack.append((info, True, state, blocker, tried))
                    state, ibits = new_state, new_ibits
                    _unlink(info)
                    entry, blocker = head.next, None
                    continue
            info = info.next
            continue
        # Dead end: the op owning `blocker` cannot be placed from here.
        if max_visited is not None and visited > max_visited:
            raise SearchBudgetExceeded(f"visited {visited} search nodes")
        _note_dead_end(deepest, placed, blocker, state, stack)
        if not stack:
            return False, deepest, visited
        top, was_info, state, saved_blocker, saved_tried = stack.pop()
        if was_info:
            assert saved_tried is not None
            ibits &= ~top.bit
            _relink(top)
            info, blocker, tried = top.next, saved_blocker, saved_tried
        else:
            dbits &= ~top.bit
            placed -= 1
            match = top.match
            assert match is not None
            _relink(match)
            _relink(top)
            entry, blocker = top.next, None
    return True, deepest, visited


def _first_visit(cache: dict[tuple[int, Any], list[int]], dbits: int, state: Any, ibits: int) -> bool:
    """Record a node; False if it, or a node dominating it, was seen (see module docstring)."""
    key = (dbits, state)
    seen = cache.get(key)
    if seen is None:
        cache[key] = [ibits]
        return True
    for other in seen:
        if other & ~ibits == 0:  # other ⊆ ibits: that node had every option this one has
            return False
    seen.append(ibits)
    return True


def _note_dead_end(
    deepest: _Deepest,
    placed: int,
    blocker: _Entry,
    state: Any,
    stack: list[tuple[_Entry, bool, Any, _Entry | None, set[tuple[str, Any]] | None]],
) -> None:
    if placed > deepest.placed:
        deepest.placed = placed
        deepest.blocker = blocker.op
        deepest.tail = tuple(frame[0].op for frame in stack[-_TAIL_OPS:])  # type: ignore[misc]
        deepest.states = [state]
    elif placed == deepest.placed and deepest.states is not None:
        if len(deepest.states) < _STATES_SHOWN and state not in deepest.states:
            deepest.states.append(state)


def _window(ops: list[Op], deepest: _Deepest) -> list[Op]:
    """The blocking op, the ops concurrent with it, and the last ops placed before it."""
    blocker = deepest.blocker
    assert blocker is not None
    chosen: dict[int, Op] = {id(op): op for op in deepest.tail}
    chosen[id(blocker)] = blocker
    start, end = blocker.invoke, blocker.end
    concurrent = [
        op for op in ops if op.status != "fail" and op.invoke <= end and op.end >= start
    ]
    # Nearest in time first, so a huge overlap (long-pending info ops) is cut sensibly.
    concurrent.sort(key=lambda op: abs(op.invoke - start))
    for op in concurrent:
        if len(chosen) >= _WINDOW_MAX:
            break
        chosen.setdefault(id(op), op)
    return sorted(chosen.values(), key=lambda op: (op.invoke, op.process))


def by_key(op: Op) -> Hashable:
    """Default partition: one independent register per key."""
    key: Hashable = op.key
    return key


def check_linearizable(
    history: Iterable[Record],
    model: Model | None = None,
    *,
    partition: Callable[[Op], Hashable] | None = by_key,
    max_visited: int | None = None,
) -> CheckResult:
    """Is ``history`` linearizable with respect to ``model`` (default: a register per key)?

    ``partition`` maps an op to the independent object it touches; ``None`` checks the whole
    history as one object. Nemesis events in ``history`` are ignored. The first key found not
    linearizable (in sorted key order, for determinism) is reported. ``max_visited`` bounds the
    search nodes per key; past it `SearchBudgetExceeded` is raised.
    """
    model = model if model is not None else RegisterModel()
    ops = ops_of(history)
    groups: dict[Hashable, list[Op]] = {}
    for op in ops:
        groups.setdefault(partition(op) if partition is not None else None, []).append(op)
    visited_total = 0
    for key in sorted(groups, key=repr):
        group = groups[key]
        ok, deepest, visited = _search(group, model, max_visited)
        visited_total += visited
        if not ok:
            return _invalid(key, group, deepest, visited)
    return CheckResult(
        valid=True,
        explanation=f"{len(ops)} ops on {len(groups)} keys are linearizable",
        details={"ops": len(ops), "keys": len(groups), "visited": visited_total},
    )


def _invalid(key: Hashable, group: list[Op], deepest: _Deepest, visited: int) -> CheckResult:
    blocker = deepest.blocker
    assert blocker is not None
    states = deepest.states or []
    shown = ", ".join(repr(s) for s in states)
    explanation = (
        f"{blocker.describe()} cannot take effect in any order consistent with real time: "
        f"after the longest linearizable prefix ({deepest.placed} ok ops placed) the state "
        f"could only be {{{shown}}}"
    )
    return CheckResult(
        valid=False,
        anomaly="nonlinearizable",
        key=key,
        window=_window(group, deepest),
        explanation=explanation,
        details={"blocked_op": blocker, "prefix_ok_ops": deepest.placed, "states": states,
                 "visited": visited},
    )
