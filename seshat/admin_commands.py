"""The server administration commands of `seshat/kv/admin_table.py`, by name, for `Admin`.

Each lives in a module of its own (one job each); this one only gathers their handlers so
`seshat/admin.py` needs one import and one line to dispatch them all.
"""

from __future__ import annotations

from seshat.debug_commands import HANDLERS as DEBUG_HANDLERS
from seshat.failover import HANDLERS as FAILOVER_HANDLERS
from seshat.latency import HANDLERS as LATENCY_HANDLERS
from seshat.memory_report import HANDLERS as MEMORY_HANDLERS
from seshat.migrate import HANDLERS as MIGRATE_HANDLERS
from seshat.modules import HANDLERS as MODULE_HANDLERS
from seshat.monitor import HANDLERS as MONITOR_HANDLERS
from seshat.persistence_commands import HANDLERS as PERSISTENCE_HANDLERS
from seshat.roles import HANDLERS as ROLE_HANDLERS
from seshat.slowlog import HANDLERS as SLOWLOG_HANDLERS
from seshat.sync_commands import HANDLERS as SYNC_HANDLERS

HANDLERS = {
    **ROLE_HANDLERS,
    **SLOWLOG_HANDLERS,
    **LATENCY_HANDLERS,
    **MEMORY_HANDLERS,
    **PERSISTENCE_HANDLERS,
    **MONITOR_HANDLERS,
    **FAILOVER_HANDLERS,
    **MODULE_HANDLERS,
    **DEBUG_HANDLERS,  # DEBUG ASKING PFSELFTEST
    **MIGRATE_HANDLERS,
    **SYNC_HANDLERS,  # SYNC PSYNC REPLCONF
}
