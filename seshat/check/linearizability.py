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

Two more reductions keep typical histories near-linear:

- **Reads first.** A read-only candidate whose output fits the current state is placed at once
  with no alternative tried (`_search` explains why that loses nothing).
- **Quick refutation.** A model may offer ``refute(ops)``, a cheap and certain disproof tried
  before the search. The register's finds reads that no write can explain (stale or invented
  values), which is what replication bugs usually produce; the search would only find those
  after exhausting every order of everything before the read.

Checking linearizability is NP-complete, so some histories stay expensive: the search is
exponential in the number of ops concurrent on one key (fine for 5-15 clients per key, not
for 20+) and, for histories that are *not* linearizable yet pass the quick refutation, in the
uncertain writes pending before the anomaly. ``max_visited`` turns such a case into
`SearchBudgetExceeded` instead of a hang.

When a key's history is not linearizable, the report names the op the search could never get
past at its deepest point (the longest linearizable prefix) and shows the ops concurrent with
it plus the last ops placed before it: that is where a person should look.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from seshat.check.history import Op, Record, ops_of
from seshat.check.result import CheckResult


class Model(Protocol):
    """A sequential specification: what one op does to a state, and whether its output fits.

    States must be hashable and compared by value: the search memoises on them. An ``info``
    op's output is unknown, so `step` must ignore it, and two info ops with equal ``kind`` and
    ``value`` must behave alike (the search tries only one of such twins).
    """

    def init(self) -> Hashable:
        """The state before any op."""
        ...

    def step(self, state: Any, op: Op) -> tuple[bool, Any]:
        """Apply ``op`` to ``state``: (is this op's output possible here, the state after).

        For an ``info`` op ``ok`` is whether the op could take effect at all in ``state``
        (a cas whose comparison fails cannot).
        """
        ...

    def is_read_only(self, op: Op) -> bool:
        """True if ``op`` never changes the state, so an ``info`` copy of it can be dropped."""
        ...


@dataclass(frozen=True, slots=True)
class Refutation:
    """A cheap, certain proof that a sub-history is not linearizable (see `RegisterModel`)."""

    blocker: Op
    window: list[Op]
    explanation: str


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

    def refute(self, ops: list[Op]) -> Refutation | None:
        """Find a read no write can explain, in O(n log n), before any search.

        The last write before a read of ``v`` must write ``v``. It must also come after every
        ok write that completed before the read began (those precede the read), so it must not
        end before any of them starts. If no write of ``v`` meets that (and ``v`` is not the
        initial value with no such write), the read is stale or invented: the history is not
        linearizable, and the few ops involved say exactly why. This catches the usual
        replication bugs (stale reads, lost or phantom writes) instantly; a failed WGL search
        would first have to exhaust every order of everything before the read, which with many
        uncertain writes costs far more. Finding nothing proves nothing: the search still runs.
        """
        return _refute_register(ops, self.initial)


def _written(op: Op) -> tuple[bool, Any]:
    """(does this op write, the value it writes) for register ops that may have happened."""
    if op.status == "fail":
        return False, None
    if op.kind == "write":
        return True, op.value
    if op.kind == "cas":
        return True, op.value[1]
    return False, None


def _refute_register(ops: list[Op], initial: Any) -> Refutation | None:
    # Ok writes by completion; a sweep over reads by invoke keeps the two latest-invoked
    # writes among those completed before the read began (the second is needed when the
    # first is itself the explaining write).
    done = sorted((op for op in ops if op.status == "ok" and _written(op)[0]),
                  key=lambda op: float(op.end))
    by_value: dict[Any, list[Op]] = {}
    for op in ops:
        writes, value = _written(op)
        if writes:
            by_value.setdefault(value, []).append(op)
    # Per value: writers sorted by invoke, with prefix top-2 by end (latest possible effect).
    prefix: dict[Any, tuple[list[float], list[tuple[Op | None, Op | None]]]] = {}
    for value, writers in by_value.items():
        writers.sort(key=lambda op: op.invoke)
        invokes: list[float] = []
        tops: list[tuple[Op | None, Op | None]] = []
        best: Op | None = None
        second: Op | None = None
        for op in writers:
            if best is None or op.end > best.end:
                best, second = op, best
            elif second is None or op.end > second.end:
                second = op
            invokes.append(float(op.invoke))
            tops.append((best, second))
        prefix[value] = (invokes, tops)
    reads = sorted((op for op in ops if op.kind == "read" and op.status == "ok"),
                   key=lambda op: op.invoke)
    first: Op | None = None
    runner: Op | None = None
    i = 0
    for read in reads:
        while i < len(done) and done[i].end < read.invoke:
            w = done[i]
            if first is None or w.invoke > first.invoke:
                first, runner = w, first
            elif runner is None or w.invoke > runner.invoke:
                runner = w
            i += 1
        if _explained(read, first, runner, prefix, initial):
            continue
        return _register_refutation(read, first, by_value.get(read.output, []))
    return None


def _explained(
    read: Op,
    first: Op | None,
    runner: Op | None,
    prefix: dict[Any, tuple[list[float], list[tuple[Op | None, Op | None]]]],
    initial: Any,
) -> bool:
    value = read.output
    if first is None and value == initial:
        return True
    if first is not None and _written(first)[1] == value:
        if runner is None or first.end >= runner.invoke:
            return True
    if value not in prefix:
        return False
    invokes, tops = prefix[value]
    n = bisect_right(invokes, float(read.end))
    if n == 0:
        return False
    floor = -math.inf if first is None else float(first.invoke)
    for candidate in tops[n - 1]:
        if candidate is not None and candidate is not first and candidate.end >= floor:
            return True
    return False


def _register_refutation(read: Op, first: Op | None, writers: list[Op]) -> Refutation:
    earlier = [w for w in writers if w.invoke <= read.end and w is not first][-3:]
    window = sorted({id(o): o for o in [read, *earlier, *([first] if first else [])]}.values(),
                    key=lambda op: (op.invoke, op.process))
    if first is None:
        why = f"no write of {read.output!r} was invoked before it completed"
    elif not writers:
        why = f"{read.output!r} was never written, and {first.describe()} precedes it"
    else:
        why = (
            f"{first.describe()} completed before it began, and no write of "
            f"{read.output!r} can take effect after that write and before the read"
        )
    return Refutation(read, window, f"{read.describe()} is stale or invented: {why}")


class SearchBudgetExceeded(RuntimeError):
    """The search visited more nodes than allowed: no verdict either way.

    Raised rather than returned as "invalid" because an unknown result must not be mistaken
    for a found bug (nor for a pass).
    """


class _Entry:
    """A node of an entry list. A call entry's ``match`` is its return entry, and vice versa."""

    __slots__ = ("op", "is_call", "time", "bit", "signature", "match", "prev", "next")

    def __init__(self, op: Op | None, is_call: bool, time: float, bit: int) -> None:
        self.op = op
        self.is_call = is_call
        self.time = time
        self.bit = bit
        # Info ops with equal (kind, value) are interchangeable once both are invoked: their
        # outputs are ignored and neither has a deadline.
        self.signature: tuple[str, Any] = ("", None) if op is None else (op.kind, op.value)
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
    states: list[Any] = field(default_factory=list)


_TAIL_OPS = 4
_STATES_SHOWN = 8
_WINDOW_MAX = 24
_WINDOW_OLD_INFOS = 3


def _build(ops: list[Op], model: Model) -> tuple[_Entry, _Entry, int]:
    """Entry lists for one partition: (ok-op list head, info-op list head, guard mask)."""
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
        assert op.complete is not None
        bit = 1 << index
        call = _Entry(op, True, float(op.invoke), bit)
        ret = _Entry(op, False, float(op.complete), bit)
        call.match = ret
        ret.match = call
        # (time, calls-before-returns, index) is a total, deterministic order.
        events.append((call.time, 0, index, call))
        events.append((ret.time, 1, index, ret))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    uncertain.sort(key=lambda op: (op.invoke, op.process))
    infos = [_Entry(op, True, float(op.invoke), 0) for op in uncertain]
    guards = _assign_count_fields(infos)
    return _link([e[3] for e in events]), _link(infos), guards


def _assign_count_fields(infos: list[_Entry]) -> int:
    """Give each info entry the increment of its twin class's counter; return the guard mask.

    Twins (equal kind and value) are interchangeable once invoked, so a node records only how
    many of each class it has consumed, packed in one int: field ``c`` holds class ``c``'s
    count in ``width - 1`` bits under one guard bit. The guard bits let `_Cache.first_visit` compare
    all counters at once: ``a <= b`` in every field iff ``((b | G) - a) & G == G``.
    """
    classes: dict[tuple[str, Any], int] = {}
    sizes: list[int] = []
    for entry in infos:
        index = classes.setdefault(entry.signature, len(classes))
        if index == len(sizes):
            sizes.append(0)
        sizes[index] += 1
    width = max(sizes, default=0).bit_length() + 1
    for entry in infos:
        entry.bit = 1 << (width * classes[entry.signature])
    return sum(1 << (width * c + width - 1) for c in range(len(sizes)))


# What backtracking restores: (entry placed, was it an info op, state, blocking return entry,
# info signatures tried, forced) -- state, blocker and tried as they were before the entry was
# placed. ``forced``: the entry was a read placed without trying alternatives, so when its
# subtree fails, the node it was placed from has failed too.
_Frame = tuple[_Entry, bool, Any, "_Entry | None", "set[tuple[str, Any]]", bool]


def _search(ops: list[Op], model: Model, max_visited: int | None) -> tuple[bool, _Deepest, int]:
    """WGL search over one partition: (linearizable?, deepest failure point, nodes visited).

    A node is (ok ops placed, state, info ops consumed per twin class). At each node,
    candidates are tried in two phases: ok ops from the head of the entry list up to the first
    return entry (the *blocker*), then info ops invoked no later than the blocker.

    A read-only candidate whose output fits the current state is placed at once, with no
    alternative tried: it leaves the state as it is, and every op that must precede it is
    already placed (that is what being a candidate means), so any linearization from this node
    can be rearranged to place it first. Half of a typical workload is reads, and this removes
    their branching entirely.
    """
    head, info_head, guards = _build(ops, model)
    step = model.step
    is_read_only = model.is_read_only
    state: Any = model.init()
    dbits = 0  # bitset of ok ops placed
    icounts = 0  # packed per-class counts of info ops placed (_assign_count_fields)
    placed = 0
    stack: list[_Frame] = []
    cache = _Cache(guards)
    deepest = _Deepest()
    visited = 0

    entry: _Entry | None = head.next
    info: _Entry | None = None
    blocker: _Entry | None = None  # None while in phase 1
    tried: set[tuple[str, Any]] = set()
    while head.next is not None:
        dead = False
        if blocker is None:
            assert entry is not None  # a return entry always follows its call
            if not entry.is_call:
                blocker, info, tried = entry, info_head.next, set()
                continue
            op = entry.op
            ok, new_state = step(state, op)  # type: ignore[arg-type]
            if ok:
                forced = is_read_only(op)  # type: ignore[arg-type]
                if cache.first_visit(dbits | entry.bit, new_state, icounts):
                    visited += 1
                    stack.append((entry, False, state, None, tried, forced))
                    state, dbits = new_state, dbits | entry.bit
                    placed += 1
                    _unlink(entry)
                    _unlink(entry.match)  # type: ignore[arg-type]
                    entry = head.next
                    continue
                dead = forced  # its only child was explored already
            if not dead:
                entry = entry.next
                continue
        elif info is not None and info.time <= blocker.time:
            if info.signature not in tried:
                # A twin later in the list would lead to exactly the same futures: skip it.
                tried.add(info.signature)
                ok, new_state = step(state, info.op)  # type: ignore[arg-type]
                if ok and cache.first_visit(dbits, new_state, icounts + info.bit):
                    visited += 1
                    stack.append((info, True, state, blocker, tried, False))
                    state, icounts = new_state, icounts + info.bit
                    _unlink(info)
                    entry, blocker = head.next, None
                    continue
            info = info.next
            continue
        # Dead end: the op owning the first pending return cannot be placed from this node.
        if max_visited is not None and visited > max_visited:
            raise SearchBudgetExceeded(f"visited {visited} search nodes (limit {max_visited})")
        _note_dead_end(deepest, placed, blocker or _first_return(head), state, stack)
        while True:
            if not stack:
                return False, deepest, visited
            top, was_info, state, blocker, tried, forced = stack.pop()
            if was_info:
                icounts -= top.bit
                _relink(top)
                info = top.next
            else:
                dbits &= ~top.bit
                placed -= 1
                _relink(top.match)  # type: ignore[arg-type]
                _relink(top)
                entry = top.next
            if not forced:
                break
    return True, deepest, visited


def _first_return(head: _Entry) -> _Entry:
    entry = head.next
    while entry is not None and entry.is_call:
        entry = entry.next
    assert entry is not None, "a non-empty entry list ends with a return entry"
    return entry


class _Cache:
    """Visited nodes, with dominance (module docstring).

    Keyed by (ok ops placed, state); each key holds the info-count vectors seen with it. A node
    is dominated by a seen one with the same key that consumed no more info ops of any class.
    Only the first `_DOMINANCE_SCAN` vectors of a key are compared (the earliest, which the
    info-last candidate order makes the smallest): with many uncertain ops a key can gather
    thousands, and a full scan per node then costs more than the nodes it prunes. Skipping a
    comparison only prunes less, never wrongly; exact repeats are still caught by a set.
    """

    __slots__ = ("guards", "seen", "exact")

    def __init__(self, guards: int) -> None:
        self.guards = guards
        self.seen: dict[tuple[int, Any], list[int]] = {}
        self.exact: set[tuple[int, Any, int]] = set()

    def first_visit(self, dbits: int, state: Any, icounts: int) -> bool:
        """Record a node; False if it, or a node dominating it, was seen already."""
        key = (dbits, state)
        seen = self.seen.get(key)
        if seen is None:
            self.seen[key] = [icounts]
            self.exact.add((dbits, state, icounts))
            return True
        node = (dbits, state, icounts)
        if node in self.exact:
            return False
        guards = self.guards
        mine = icounts | guards
        for other in seen[:_DOMINANCE_SCAN]:
            if (mine - other) & guards == guards:  # other <= icounts in every class
                return False
        seen.append(icounts)
        self.exact.add(node)
        return True


_DOMINANCE_SCAN = 64


def _note_dead_end(
    deepest: _Deepest, placed: int, blocker: _Entry, state: Any, stack: list[_Frame]
) -> None:
    if placed > deepest.placed:
        deepest.placed = placed
        deepest.blocker = blocker.op
        deepest.tail = tuple(frame[0].op for frame in stack[-_TAIL_OPS:])  # type: ignore[misc]
        deepest.states = [state]
    elif placed == deepest.placed:
        if len(deepest.states) < _STATES_SHOWN and state not in deepest.states:
            deepest.states.append(state)


def _window(ops: list[Op], deepest: _Deepest) -> list[Op]:
    """The blocking op, the ok ops concurrent with it, the last ops placed before it, and the
    most recent few info ops that could still have taken effect there.

    Info ops never end, so every one invoked earlier overlaps the blocker; listing them all
    would bury the ops that matter, so only the latest `_WINDOW_OLD_INFOS` are kept.
    """
    blocker = deepest.blocker
    assert blocker is not None
    chosen: dict[int, Op] = {id(op): op for op in deepest.tail}
    chosen[id(blocker)] = blocker
    start, end = blocker.invoke, blocker.end
    concurrent = [
        op for op in ops
        if op.status == "ok" and op.invoke <= end and op.end >= start and op is not blocker
    ]
    concurrent.sort(key=lambda op: abs(op.invoke - start))
    for op in concurrent[: _WINDOW_MAX - len(chosen)]:
        chosen.setdefault(id(op), op)
    infos = [op for op in ops if op.status == "info" and op.invoke <= end and op.kind != "read"]
    for op in infos[-_WINDOW_OLD_INFOS:]:
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
        refute = getattr(model, "refute", None)
        refutation: Refutation | None = refute(group) if refute is not None else None
        if refutation is not None:
            return CheckResult(
                valid=False,
                anomaly="nonlinearizable",
                key=key,
                window=refutation.window,
                explanation=refutation.explanation,
                details={"blocked_op": refutation.blocker, "found_by": "refute"},
            )
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
        f"the search got furthest with {deepest.placed} ok ops placed, where the state was "
        f"one of {{{shown}}}"
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
