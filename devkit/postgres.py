"""A throwaway PostgreSQL server from the Debian binaries, for the tests and the benchmarks.

The project tests and measures against a real PostgreSQL, not a stand-in, so both tests/ and
bench/ start one here: in a temporary directory, on a free loopback port, with fsync off
(nothing in it outlives the run), and one fresh database per test or benchmark.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError(f"PostgreSQL binary {name} not found: install the Debian package postgresql")
    return found[-1]


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server; yields a DSN prefix without the database name."""
    root = Path(tempfile.mkdtemp(prefix="carebot-pg-"))
    data, port = root / "data", _free_port()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, _pg_bin("initdb"), "-D", str(data), "-U", "carebot",
                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
    subprocess.run([*as_postgres, _pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"),
                    "-o", f"-p {port} -k {root} -h 127.0.0.1 -c fsync=off -c max_connections=200",
                    "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+asyncpg://carebot@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_postgres, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


async def create_pg_database(server: str) -> str:
    """A new empty database on `server` (a DSN prefix from throwaway_postgres); its full DSN."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(server.replace("postgresql+asyncpg", "postgresql") + "/postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{server}/{name}"
