"""`seshat`: start a node (see `seshat --help`); SIGTERM/SIGINT stop it gracefully.

A second SIGINT forces the exit, as uvicorn's `handle_exit` does.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys

from seshat import config as config_module
from seshat import logs
from seshat.server import DataDirMismatch, Server
from seshat.storage.engine import StorageError


async def _serve(node_config: config_module.NodeConfig) -> int:
    server = Server(node_config)
    try:
        await server.startup()
    except DataDirMismatch as error:
        logs.get("seshat").error("data_dir_refused", reason=str(error))
        return 2
    except (OSError, StorageError) as error:
        # e.g. the port is taken, or the disk is full: stop what did start (the driver)
        # before closing RocksDB.
        logs.get("seshat").error("startup_failed", reason=str(error))
        server.exit_code = 1  # what the process exits with, so seshat_stopped says it too
        await server.shutdown()
        return server.exit_code
    # Everything made while starting (modules, the command table, the log cache) lives as long
    # as the node: out of the collector's sight, a full collection no longer walks it.
    gc.freeze()
    loop = asyncio.get_running_loop()
    signals_seen = 0

    def on_signal(signum: int) -> None:
        nonlocal signals_seen
        signals_seen += 1
        if signals_seen > 1:
            logs.get("seshat").warning("forced_exit", signal=signal.Signals(signum).name)
            sys.exit(1)
        logs.get("seshat").info("shutdown_requested", signal=signal.Signals(signum).name)
        server.request_stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    await server.serve_forever()
    await server.shutdown()
    return server.exit_code


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("cluster", "node", "transfer", "status"):
        from seshat import launcher  # `seshat cluster`, `seshat node add`, ...: see launcher.py

        return launcher.main(args)
    if args and args[0] == "load-rdb":
        from seshat.rdb import load  # a client tool: none of the server's start-up below

        return load.main(args[1:])
    # Assertions are the core's invariants: running without them (python -O) is refused.
    assert __debug__ or True
    if not __debug__:
        print("seshat: refusing to run with assertions disabled (python -O)", file=sys.stderr)
        return 2
    try:
        node_config = config_module.load(argv)
    except ValueError as error:
        print(f"seshat: {error}", file=sys.stderr)
        return 2
    logs.configure(node_config.log_level, node_config.log_format)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is optional
        runner = asyncio.run
    return int(runner(_serve(node_config)))


if __name__ == "__main__":
    sys.exit(main())
