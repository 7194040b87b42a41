"""Where the command layer draws random numbers: one generator, swappable for a seeded one.

Random commands (RANDOMKEY, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, and SPOP's seed in
`prepare_spop`) are reads or run on the leader only, so they may draw from any source. A Lua
script, though, runs inside apply on every replica (`seshat/kv/scripts.py`), and a script that
writes what such a command returned must write the same thing everywhere. While a script runs,
`seeded` swaps in a generator seeded from the log entry, so every replica draws the same numbers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

_current = random.Random()


def rng() -> random.Random:
    """The generator to draw from now."""
    return _current


@contextmanager
def seeded(seed: int) -> Iterator[random.Random]:
    """Draw from `random.Random(seed)` until the block ends (apply is single-threaded)."""
    global _current
    saved = _current
    _current = random.Random(seed)
    try:
        yield _current
    finally:
        _current = saved
