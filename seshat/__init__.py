"""Seshat: a Redis-compatible key-value server replicated by Raft and stored in RocksDB."""

__version__ = "0.1.0"
