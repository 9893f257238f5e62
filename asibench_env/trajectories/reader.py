"""Read a run's trajectories back: ``load(DIR)`` gives a ``pyarrow.dataset`` of the steps, episodes or groups."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from asibench_env.trajectories.schema import PARTITION_COLUMNS, TABLES

logger = logging.getLogger(__name__)


def _readable_files(folder: Path) -> list[str]:
    files = []
    for path in sorted(folder.rglob("*.parquet")):
        try:
            pq.ParquetFile(path).metadata  # noqa: B018 - reading the footer is the check
        except (pa.ArrowInvalid, OSError) as exc:
            logger.warning("skipping unreadable trajectory file %s: %s", path, exc)
            continue
        files.append(str(path))
    return files


def load(run_dir: str | Path, table: Literal["steps", "episodes", "groups"] = "steps") -> ds.Dataset:
    """The steps (episodes, rollout groups) of a run as a dataset; broken files from a killed run are skipped.

    Files of an older schema version read with the current schema: columns added since are null.
    """
    folder = Path(run_dir) / "trajectories" / table
    schema = TABLES[table]
    if not folder.is_dir():
        raise FileNotFoundError(f"no {table} table under {folder}; was the run logged with TrajectoryLogger?")
    partitioning = ds.partitioning(pa.schema([schema.field(name) for name in PARTITION_COLUMNS]), flavor="hive")
    return ds.dataset(
        _readable_files(folder),
        format="parquet",
        partitioning=partitioning,
        partition_base_dir=str(folder),
        schema=schema,
    )
