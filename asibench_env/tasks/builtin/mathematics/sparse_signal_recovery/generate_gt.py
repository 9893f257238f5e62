"""Generator for mathematics.sparse_signal_recovery.

A sparse vector x (k non-zero entries, k unknown) is measured through fewer random linear measurements
than unknowns, y = A x + noise. The agent must recover x, its support and its sparsity; least squares
and the minimum-norm solution fail, a sparse method (OMP, LASSO with a tuned penalty, IHT) succeeds.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "mathematics.sparse_signal_recovery"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_unknowns": 256, "n_measurements": 100, "noise": 0.02}
HERE = Path(__file__).resolve().parent


def render(template: str, values: dict[str, object]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(values[m.group(1)]), template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--params", default="{}")
    args = parser.parse_args()
    given = json.loads(args.params)
    unknown = set(given) - set(PARAMETERS) - {"seed"}
    if unknown:
        raise SystemExit(f"unknown parameters: {sorted(unknown)}")
    params = {**PARAMETERS, "seed": 0, **given}
    rng = np.random.default_rng(int(params["seed"]))
    n, m, noise = int(params["n_unknowns"]), int(params["n_measurements"]), float(params["noise"])

    k = int(rng.integers(6, max(7, m // 10 + 1)))
    x = np.zeros(n)
    support = np.sort(rng.choice(n, k, replace=False))
    x[support] = rng.choice([-1, 1], k) * rng.uniform(1.0, 3.0, k)
    a = rng.normal(0.0, 1.0 / np.sqrt(m), (m, n))
    y = a @ x + rng.normal(0.0, noise, m)
    mask = np.zeros(n, dtype=np.int64)
    mask[support] = 1

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    np.save(out / "data" / "A.npy", a.astype(np.float64))
    np.save(out / "data" / "y.npy", y.astype(np.float64))
    np.save(out / "data" / "min_norm_estimate.npy", (np.linalg.pinv(a) @ y).astype(np.float64))
    np.save(out / "reference" / "x_ref.npy", x.astype(np.float64))
    np.save(out / "reference" / "support_ref.npy", mask)
    np.save(out / "reference" / "sparsity_ref.npy", np.array([k], dtype=np.int64))

    values = {"n": n, "m": m}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/A.npy", "data/y.npy", "data/min_norm_estimate.npy"],
        "reference_files": ["reference/x_ref.npy", "reference/support_ref.npy", "reference/sparsity_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
