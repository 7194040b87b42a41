"""Redis Cluster's key slot: CRC16 (XMODEM) of the key, or of its {hash tag}, mod 16384.

Seshat is one Raft group, so one leader owns every slot; the slot is still computed exactly as
Redis does, because `-MOVED <slot>` and `CLUSTER KEYSLOT` replies must match what clients compute.
"""

from __future__ import annotations

from typing import Final

SLOT_COUNT: Final = 16384


def _table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC16_TABLE: Final = _table()


def crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16_TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def key_slot(key: bytes) -> int:
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end != -1 and end != start + 1:
            key = key[start + 1 : end]
    return crc16(key) % SLOT_COUNT
