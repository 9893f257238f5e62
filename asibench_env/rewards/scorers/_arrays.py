"""Loading the arrays a scorer compares: ``.npy`` files, or one column of a CSV file.

CSV columns follow the official scorer's reading (``pandas.read_csv(path)[column]`` as float64) without
pandas: the usual missing-value spellings are NaN, a column made only of true/false words is 1/0,
every other cell goes through ``float()`` and a cell it refuses makes the whole load fail.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

# pandas.read_csv's default missing-value spellings.
NA_VALUES = frozenset(
    {
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
        "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
    }
)  # fmt: skip
TRUE_WORDS = frozenset({"True", "TRUE", "true"})
FALSE_WORDS = frozenset({"False", "FALSE", "false"})


def _unique_names(header: list[str]) -> list[str]:
    """Column names as pandas gives them: ``Unnamed: i`` for blanks, ``.1``, ``.2`` ... for duplicates."""
    header = [name if name else f"Unnamed: {i}" for i, name in enumerate(header)]
    seen: dict[str, int] = {}
    names: list[str] = []
    taken = set(header)
    for name in header:
        if name not in seen:
            seen[name] = 0
            names.append(name)
            continue
        count = seen[name]
        candidate = name
        while candidate in taken:
            count += 1
            candidate = f"{name}.{count}"
        seen[name] = count
        taken.add(candidate)
        names.append(candidate)
    return names


def read_csv_column(path: Path, column: Any) -> np.ndarray:
    """One column of a CSV file with a header row, as float64."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        raise ValueError(f"{path.name}: no columns to parse from file")
    names = _unique_names(rows[0])
    if not isinstance(column, str) or column not in names:
        raise KeyError(f"column {column!r} not in {path.name} (columns: {', '.join(names)})")
    data = rows[1:]
    # A first data row longer than the header means the extra leading fields are an unnamed index.
    offset = max(0, len(data[0]) - len(names)) if data else 0
    index = offset + names.index(column)
    width = offset + len(names)
    cells: list[str | None] = []
    for number, row in enumerate(data, start=2):
        if len(row) > width:
            raise ValueError(f"{path.name}: expected {width} fields in line {number}, saw {len(row)}")
        cells.append(row[index] if index < len(row) else None)
    present = [cell for cell in cells if cell is not None and cell not in NA_VALUES]
    booleans = bool(present) and all(cell in TRUE_WORDS or cell in FALSE_WORDS for cell in present)
    values = np.empty(len(cells), dtype=np.float64)
    for i, cell in enumerate(cells):
        if cell is None or cell in NA_VALUES:
            values[i] = np.nan
        elif booleans:
            values[i] = 1.0 if cell in TRUE_WORDS else 0.0
        else:
            values[i] = float(cell)
    return values


def load_pair(pred_dir: Path, ref_dir: Path, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The predicted and reference arrays as float64 with equal shapes.

    ``pred_file``/``ref_file`` default to ``file``. When either is a CSV both are read as CSV and
    ``column`` picks the column; otherwise both are ``.npy`` and ``row`` keeps one row of each.
    """
    pred_file = config.get("pred_file", config.get("file"))
    ref_file = config.get("ref_file", config.get("file"))
    if str(pred_file).endswith(".csv") or str(ref_file).endswith(".csv"):
        column = config.get("column")
        if column is None:
            raise ValueError(f"a CSV comparison needs 'column' (pred_file={pred_file!r}, ref_file={ref_file!r})")
        pred = read_csv_column(pred_dir / pred_file, column)
        ref = read_csv_column(ref_dir / ref_file, column)
    else:
        pred = np.load(pred_dir / pred_file)
        ref = np.load(ref_dir / ref_file)
        row = config.get("row")
        if row is not None:
            pred, ref = pred[row : row + 1], ref[row : row + 1]
    if pred.shape != ref.shape:
        raise ValueError(
            f"shape mismatch between {pred_file} and {ref_file}: predicted {pred.shape}, reference {ref.shape}"
        )
    return pred.astype(np.float64), ref.astype(np.float64)
