"""The instance cache's bookkeeping on disk: access records, sizes, leases, and LRU eviction under a size cap.

Layout under the cache root::

    <task_id>/<key>/<instance_id>/...        the instance (``.complete`` marks it whole)
    <task_id>/<key>/.entry                   {"bytes": N}; its mtime is the last access (set by us, not atime)
    .locks/use-XYZ.lock, gen-XYZ.lock        lock stripes (XYZ = the key's first 3 hex digits: 4096 of each)
    .locks/evict.lock                        one evictor at a time
    .over-cap                                an eviction left the cache over its cap (entries were in use)
    .trash/                                  evicted entries, renamed here atomically, then deleted

Locking, across processes and threads:

* an instance in use is held by a **lease**: a shared ``flock`` on its ``use`` stripe, taken *before*
  checking that it is complete and kept until the episode has been scored (the env copies the data
  into its seed dir and reads ``reference/`` at scoring time). The kernel drops it if the process dies;
* generation takes the exclusive :class:`filelock.FileLock` of its ``gen`` stripe, so two processes
  asking for the same instance generate it once (the second waits, then finds it complete);
* the evictor holds ``evict.lock``, takes the ``use`` stripe exclusively **without waiting** and
  skips the entry when anyone holds a lease on it; it also skips entries accessed in the last
  ``grace_s`` seconds (a caller of the lease-less ``get`` is protected only by this). An entry is
  removed by one ``rename`` into ``.trash``, so nobody ever sees half of one.

The shared lease is a raw ``flock`` because :mod:`filelock`'s reader-writer lock ties each hold to the
thread that took it, and an env's lease may be released by another thread (vector and async envs).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

ENTRY_FILE = ".entry"
OVER_CAP_FILE = ".over-cap"
STRIPE_DIGITS = 3


@dataclass(frozen=True)
class CacheEntry:
    """One cached instance as the evictor sees it."""

    path: Path
    """The entry folder (``<root>/<task_id>/<key>``)."""
    key: str
    size: int
    last_access: float


def tree_bytes(path: Path) -> int:
    """Apparent size of every regular file under ``path`` (links not followed)."""
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


class Lease:
    """A shared lock keeping one cache entry from being evicted; release it once (or let it be collected)."""

    def __init__(self, fd: int, on_release: object = None):
        self._fd: int | None = fd
        self._lock = threading.Lock()
        self._on_release = on_release

    @property
    def held(self) -> bool:
        """Whether the lease is still held."""
        return self._fd is not None

    def release(self) -> None:
        """Let the entry be evicted again (idempotent, never raises)."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.close(fd)  # closing the descriptor drops the flock
        if callable(self._on_release):
            with contextlib.suppress(Exception):
                self._on_release()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.release()


class CacheStore:
    """Leases, generation locks, access records and eviction for one cache root (see the module docstring)."""

    def __init__(self, root: Path, max_bytes: int | None, grace_s: float):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.grace_s = float(grace_s)
        self._locks = self.root / ".locks"

    # ------------------------------------------------------------------ locks
    def _stripe(self, kind: str, key: str) -> Path:
        self._locks.mkdir(parents=True, exist_ok=True)
        return self._locks / f"{kind}-{key[:STRIPE_DIGITS]}.lock"

    def lease(self, key: str) -> Lease:
        """Hold the entry ``key`` in use (waits only while an evictor is renaming an entry of its stripe)."""
        fd = os.open(self._stripe("use", key), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        except BaseException:
            os.close(fd)
            raise
        return Lease(fd, self._after_release)

    def generation_lock(self, key: str) -> FileLock:
        """The exclusive lock a generator of ``key`` holds (an in-process re-entrant :class:`FileLock`)."""
        return FileLock(self._stripe("gen", key), thread_local=False, is_singleton=False)

    # ------------------------------------------------------------------ access records
    def record(self, entry: Path, size: int) -> None:
        """Write an entry's size record (its mtime is the access time)."""
        tmp = entry / f"{ENTRY_FILE}.{uuid.uuid4().hex}"
        tmp.write_text(json.dumps({"bytes": int(size)}))
        os.replace(tmp, entry / ENTRY_FILE)

    def touch(self, entry: Path) -> None:
        """Mark an entry used now (an entry from before size records gets one)."""
        try:
            os.utime(entry / ENTRY_FILE)
        except FileNotFoundError:
            instances = [p for p in entry.iterdir() if p.is_dir() and (p / ".complete").is_file()]
            if instances:
                self.record(entry, sum(tree_bytes(p) for p in instances))
        except OSError:
            pass

    def entries(self) -> list[CacheEntry]:
        """Every complete entry with its size and last access (entries being generated are not listed)."""
        found: list[CacheEntry] = []
        if not self.root.is_dir():
            return found
        for task_dir in self.root.iterdir():
            if task_dir.name.startswith(".") or not task_dir.is_dir():
                continue
            for entry in task_dir.iterdir():
                if entry.name.startswith(".") or not entry.is_dir():
                    continue
                record = entry / ENTRY_FILE
                try:
                    stat = record.stat()
                    size = int(json.loads(record.read_text())["bytes"])
                except FileNotFoundError:
                    if not any((p / ".complete").is_file() for p in entry.iterdir() if p.is_dir()):
                        continue  # being generated (or a failed generation's leftovers)
                    self.touch(entry)
                    try:
                        stat = record.stat()
                        size = int(json.loads(record.read_text())["bytes"])
                    except (OSError, ValueError, KeyError):
                        continue
                except (OSError, ValueError, KeyError):
                    continue
                found.append(CacheEntry(entry, entry.name, size, stat.st_mtime))
        return found

    def usage(self) -> int:
        """Bytes held by complete entries."""
        return sum(e.size for e in self.entries())

    # ------------------------------------------------------------------ eviction
    def trim(self, *, only_if_over: bool = False) -> list[CacheEntry]:
        """Evict least-recently-used entries until the cache is under its cap; return what was evicted.

        Entries under a lease and entries used in the last ``grace_s`` seconds are skipped; when that
        leaves the cache over its cap, ``.over-cap`` is written and the next lease release trims again.

        Args:
            only_if_over: do nothing unless ``.over-cap`` says the last eviction fell short.
        """
        if self.max_bytes is None or not self.root.is_dir():
            return []
        trash = self.root / ".trash"
        evicted: list[CacheEntry] = []
        doomed: list[Path] = []
        self._locks.mkdir(parents=True, exist_ok=True)
        with FileLock(self._locks / "evict.lock", thread_local=False, is_singleton=False):
            if only_if_over and not (self.root / OVER_CAP_FILE).exists():
                return []
            entries = sorted(self.entries(), key=lambda e: e.last_access)
            total = sum(e.size for e in entries)
            now = time.time()
            for entry in entries:
                if total <= self.max_bytes:
                    break
                if now - entry.last_access < self.grace_s:
                    continue
                moved = self._evict(entry, trash)
                if moved is not None:
                    doomed.append(moved)
                    evicted.append(entry)
                    total -= entry.size
            marker = self.root / OVER_CAP_FILE
            if total > self.max_bytes:
                marker.touch()
            else:
                marker.unlink(missing_ok=True)
        for path in doomed:
            shutil.rmtree(path, ignore_errors=True)
        return evicted

    def _evict(self, entry: CacheEntry, trash: Path) -> Path | None:
        fd = os.open(self._stripe("use", entry.key), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # someone holds a lease on this stripe: in use
            try:
                if (entry.path / ENTRY_FILE).stat().st_mtime != entry.last_access:
                    return None  # used since the scan
            except FileNotFoundError:
                return None
            trash.mkdir(parents=True, exist_ok=True)
            target = trash / f"{entry.key}-{uuid.uuid4().hex[:8]}"
            os.rename(entry.path, target)
            return target
        finally:
            os.close(fd)

    def _after_release(self) -> None:
        """After a lease ends: trim when an earlier eviction had to leave the cache over its cap."""
        if self.max_bytes is not None:
            self.trim(only_if_over=True)
