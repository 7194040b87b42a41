"""The bounded window of MsgApp a leader has sent to one follower and not yet seen acknowledged.

Each in-flight message is remembered by the last index it carried and its size in bytes. An
acknowledgement of index i frees every message up to i. The window is full at `max_count`
messages or `max_bytes` bytes; adding to a full window is a bug, so callers check `full()` first
(as etcd-raft's tracker/inflights.go).
"""

from __future__ import annotations

from collections import deque


class Inflights:
    def __init__(self, max_count: int, max_bytes: int = 0) -> None:
        assert max_count > 0, max_count
        self.max_count = max_count
        self.max_bytes = max_bytes  # 0: no byte limit
        self._items: deque[tuple[int, int]] = deque()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def full(self) -> bool:
        return len(self._items) >= self.max_count or (
            self.max_bytes > 0 and self.bytes >= self.max_bytes
        )

    def add(self, index: int, size: int) -> None:
        assert not self.full(), ("add to a full inflights window", len(self._items), self.bytes)
        assert not self._items or index > self._items[-1][0], (index, self._items[-1])
        self._items.append((index, size))
        self.bytes += size

    def free_le(self, index: int) -> None:
        items = self._items
        while items and items[0][0] <= index:
            self.bytes -= items.popleft()[1]

    def reset(self) -> None:
        self._items.clear()
        self.bytes = 0

    def free_first_one(self) -> None:
        if self._items:
            self.bytes -= self._items.popleft()[1]
