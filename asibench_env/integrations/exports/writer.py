"""Write rows to Parquet or JSON Lines, byte for byte the same for the same rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from asibench_env.atomic import atomic_path, write_text_atomic
from asibench_env.integrations.exports import schemas
from asibench_env.integrations.exports.models import RowModel

Format = Literal["parquet", "jsonl"]
FORMATS: tuple[Format, ...] = ("parquet", "jsonl")


def write_rows(rows: Sequence[dict[str, Any]], schema: pa.Schema, out: Path, fmt: Format = "parquet") -> Path:
    """Write ``rows`` (in the order given) to ``out`` atomically; return ``out``.

    Parquet: one file with ``schema`` (zstd, no timestamps, no pandas metadata). JSON Lines: one JSON
    object per line, the schema's columns in order, keys of nested messages as given (None fields left out).
    """
    out = Path(out)
    if fmt == "jsonl":
        lines = [json.dumps({name: row[name] for name in schema.names}, ensure_ascii=False) for row in rows]
        write_text_atomic(out, "".join(line + "\n" for line in lines))
        return out
    if fmt != "parquet":
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    table = pa.Table.from_pylist(list(rows), schema=schema)
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return out


Kind = Literal["sft", "dpo", "kto", "verl", "skyrl"]
SCHEMAS: dict[str, pa.Schema] = {
    "sft": schemas.SFT,
    "dpo": schemas.DPO,
    "kto": schemas.KTO,
    "verl": schemas.VERL,
    "skyrl": schemas.SKYRL,
}


def write_dataset(rows: Sequence[RowModel], kind: Kind, out: Path, fmt: Format = "parquet") -> Path:
    """Write rows of one kind (``sft``, ``dpo``, ``kto``, ``verl``, ``skyrl``) with its schema; return ``out``."""
    return write_rows([row.record() for row in rows], SCHEMAS[kind], out, fmt)
