"""ACL LOG: this node's recent denials, in memory, as Redis 7.0's `addACLLogEntry`.

Per node and not replicated: it records what this node's clients were refused, and what the
scripts this node ran were refused (`script.py`), like SLOWLOG. A denial like one of the 10 newest
entries (same reason, context, object and user, within 60 s) bumps that entry's count, takes
its client info and time, and moves it to the front; otherwise a new entry goes in front and
the oldest beyond `ACL_LOG_ENTRIES_MAX` (Redis's acllog-max-len default, 128) is dropped.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Final

from seshat.protocol.replies import Double, Map, Reply

ACL_LOG_ENTRIES_MAX: Final = 128  # acllog-max-len's default in redis.conf
GROUPING_MS_MAX: Final = 60_000  # ACL_LOG_GROUPING_MAX_TIME_DELTA
MATCH_SCAN_MAX: Final = 10  # Redis looks at the 10 newest entries for a duplicate

CONTEXTS: Final = (b"toplevel", b"multi", b"lua")
TOPLEVEL: Final = 0
MULTI: Final = 1
LUA: Final = 2


@dataclass(slots=True)
class Entry:
    count: int
    reason: bytes  # b"command", b"key", b"channel", b"auth"
    context: int
    object: bytes
    username: bytes
    ctime_ms: int
    client_info: bytes


class AclLog:
    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: deque[Entry] = deque()

    def add(
        self, reason: bytes, context: int, obj: bytes, username: bytes, cinfo: bytes,
    ) -> None:  # fmt: skip
        now_ms = int(time.time() * 1000)
        for i in range(min(MATCH_SCAN_MAX, len(self.entries))):
            e = self.entries[i]
            if (
                e.reason == reason
                and e.context == context
                and e.object == obj
                and e.username == username
                and now_ms - e.ctime_ms <= GROUPING_MS_MAX
            ):
                del self.entries[i]
                e.count += 1
                e.client_info = cinfo
                e.ctime_ms = now_ms
                self.entries.appendleft(e)
                return
        self.entries.appendleft(Entry(1, reason, context, obj, username, now_ms, cinfo))
        while len(self.entries) > ACL_LOG_ENTRIES_MAX:
            self.entries.pop()

    def reply(self, count: int) -> Reply:
        now_ms = int(time.time() * 1000)
        out: list[Reply] = []
        for e in list(self.entries)[:count]:
            out.append(
                Map(
                    [
                        (b"count", e.count),
                        (b"reason", e.reason),
                        (b"context", CONTEXTS[e.context]),
                        (b"object", e.object),
                        (b"username", e.username),
                        (b"age-seconds", Double((now_ms - e.ctime_ms) / 1000)),
                        (b"client-info", e.client_info),
                    ]
                )
            )
        return out

    def reset(self) -> None:
        self.entries.clear()
