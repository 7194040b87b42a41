"""Whole-database RDB files, Redis 7.0's format: written for `SYNC` (`redis-cli --rdb`),
read by `seshat load-rdb`. One value's encoding is `seshat.kv.rdb_codec`'s; this package
adds the file around the values (header, aux fields, databases, expiries, functions)."""
