"""What a command means: the command table, the Operation codec and the deterministic state
machine, over the RocksDB keyspace.

The server wiring uses four names (import them from their modules; this package re-exports
nothing, so importing one part never drags in the rest):

- `seshat.kv.state_machine.StateMachine(engine)`: `apply_batch([(index, data), ...]) -> replies`,
  `applied_index()`, `checksum()`; the Raft driver applies committed entries through it.
- `seshat.kv.service.KVService(state_machine, clock_ms)` with a per-connection
  `seshat.kv.service.Session`: `prepare(session, argv)` -> `Immediate | Read | Write |
  Connection`, `execute_read(session, argv)`, `active_expire_sample(now_ms, limit)`.
- `seshat.kv.commands`: `lookup(name)`, `get_keys(spec, argv)`, `command_info_reply(spec)`,
  `command_docs_reply(spec)`, `TABLE`.
- `seshat.kv.local.LocalExecutor`: the same path with no Raft (tests; reference wiring).

Modules: `errors` (Redis-exact error texts), `layout` (key and record bytes), `keyspace` (reads
and batched writes of records), `numbers` (Redis integer/long double parsing and formatting),
`glob` (KEYS/SCAN patterns), `reads` and `writes` (command handlers), `operation` (codec).
"""
