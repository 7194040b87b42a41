"""The framing of an RDB file (`rdb.h`), shared by the writer and the reader.

A file is `REDIS` + a four-digit version, then opcodes and values until `EOF`, then the CRC-64
of everything before it (little-endian; zero when the writer did not compute one). Between the
header and `EOF`:

- `AUX` name value: strings such as `redis-ver` or `ctime`, ignored by a reader that does not
  know them;
- `FUNCTION2` code: one Redis 7 function library's source (7.0 writes this, never `FUNCTION`);
- `SELECTDB` n, then `RESIZEDB` keys expires: the database the keys that follow belong to;
- `EXPIRETIME_MS` ms (8 bytes LE) or `EXPIRETIME` s (4 bytes LE), then one key;
- `IDLE` / `FREQ`: eviction hints for the next key, which Seshat reads past;
- otherwise an object type byte, the key (an RDB string) and the value (`rdb_codec`).
"""

from __future__ import annotations

from typing import Final

MAGIC: Final = b"REDIS"
VERSION_DIGITS: Final = 4  # "0010": Redis 7.0 writes RDB version 10

OP_FUNCTION2: Final = 245  # Redis 7.0: a library's code
OP_FUNCTION: Final = 246  # Redis 7.0 release candidates: never written by 7.0 itself
OP_MODULE_AUX: Final = 247
OP_IDLE: Final = 248
OP_FREQ: Final = 249
OP_AUX: Final = 250
OP_RESIZEDB: Final = 251
OP_EXPIRETIME_MS: Final = 252
OP_EXPIRETIME: Final = 253
OP_SELECTDB: Final = 254
OP_EOF: Final = 255

CHECKSUM_BYTES: Final = 8
