"""Write trajectories as a Hive-partitioned Parquet dataset, one file per finished episode.

Layout: ``DIR/trajectories/{steps,episodes}/task_id=<id>/prompt_level=<level>/<episode_id>.parquet``, and for
rollout groups ``DIR/trajectories/groups/task_id=<id>/prompt_level=<level>/<group_id>.parquet``
(zstd). Each file is written to a temporary name and renamed, so a run killed at any moment leaves
every finished episode readable and no half-written file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from asibench_env.atomic import atomic_path
from asibench_env.trajectories.schema import PARTITION_COLUMNS, TABLES

DEFAULT_MAX_OBSERVATION_CHARS = 256 * 1024


def truncate_observation(text: str, limit: int) -> tuple[str, int, bool]:
    """(stored text, full length, truncated?) keeping head and tail with a marker for the cut."""
    if len(text) <= limit:
        return text, len(text), False
    half = limit // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n[... {cut} characters cut by the trajectory logger ...]\n{text[-half:]}", len(text), True


def _clean(value: Any) -> Any:
    """Strings that Parquet and every reader accept: no lone surrogates from non-UTF-8 tool output."""
    if isinstance(value, str):
        return value.encode("utf-8", errors="replace").decode("utf-8")
    return value


class TrajectoryWriter:
    """Appends finished episodes to ``root/trajectories``."""

    def __init__(self, root: Path, run_id: str):
        self.root = Path(root) / "trajectories"
        self.run_id = run_id

    def _write(self, table_name: str, rows: list[dict[str, Any]], file_stem: str) -> Path:
        schema = TABLES[table_name]
        clean_rows = [{k: _clean(v) for k, v in row.items()} for row in rows]
        table = pa.Table.from_pylist(clean_rows, schema=schema)
        first = rows[0]
        folder = self.root / table_name
        for column in PARTITION_COLUMNS:
            folder = folder / f"{column}={quote(str(first[column]), safe='')}"
        folder.mkdir(parents=True, exist_ok=True)
        data = table.drop_columns(list(PARTITION_COLUMNS))
        target = folder / f"{quote(file_stem, safe='')}.parquet"
        with atomic_path(target) as tmp:
            pq.write_table(data, tmp, compression="zstd")
        return target

    def write_episode(self, steps: list[dict[str, Any]], episode: dict[str, Any]) -> None:
        """Write one episode's step rows (if any) and its episode row."""
        episode_id = episode["episode_id"]
        if steps:
            self._write("steps", steps, episode_id)
        self._write("episodes", [episode], episode_id)

    def write_group(self, group: dict[str, Any]) -> Path:
        """Write (or replace) one rollout group's row in the groups table; its file is named after the group id."""
        return self._write("groups", [group], group["group_id"])
