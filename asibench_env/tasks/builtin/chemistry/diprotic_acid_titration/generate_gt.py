"""Generator for chemistry.diprotic_acid_titration.

A diprotic acid of unknown concentration is titrated with standard sodium hydroxide; the pH electrode
reads with noise and a small calibration offset. The agent must find both pKa values, the acid's
concentration, the two equivalence volumes, and predict the pH at other titrant volumes.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

TASK_ID = "chemistry.diprotic_acid_titration"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_points": 100, "ph_noise": 0.01, "n_query": 50}
HERE = Path(__file__).resolve().parent
KW = 1.0e-14
V0_ML = 25.0
BASE_M = 0.1


def ph_curve(volumes_ml, pka1, pka2, acid_m, v0=V0_ML, base_m=BASE_M):
    """Exact pH from the charge balance of H2A titrated with NaOH (activities taken as concentrations)."""
    k1, k2 = 10.0**-pka1, 10.0**-pka2
    out = []
    for v in np.atleast_1d(volumes_ml):
        na = base_m * v / (v0 + v)
        total = acid_m * v0 / (v0 + v)

        def balance(log_h, na=na, total=total):
            h = 10.0**log_h
            return na + h - KW / h - total * (k1 * h + 2 * k1 * k2) / (h * h + k1 * h + k1 * k2)

        out.append(-brentq(balance, -14.5, 0.5, xtol=1e-12))
    return np.array(out)


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
    n, noise, n_query = int(params["n_points"]), float(params["ph_noise"]), int(params["n_query"])

    pka1 = rng.uniform(2.5, 5.0)
    pka2 = pka1 + rng.uniform(2.5, 4.5)
    acid = rng.uniform(0.02, 0.06)
    offset = rng.uniform(-0.04, 0.04)
    ve1 = acid * V0_ML / BASE_M
    volumes = np.unique(np.round(rng.uniform(0.0, 2.5 * ve1, n), 2))
    n = volumes.size
    measured = ph_curve(volumes, pka1, pka2, acid) + offset + rng.normal(0, noise, n)
    query = np.sort(rng.uniform(0.0, 2.6 * ve1, n_query))

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "titration.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["naoh_added_ml", "ph_reading", "temperature_c"])
        for v, p in zip(volumes, measured, strict=True):
            writer.writerow([f"{v:.2f}", f"{p:.3f}", f"{25 + rng.normal(0, 0.1):.1f}"])
    setup = {"sample_volume_ml": V0_ML, "naoh_concentration_m": BASE_M, "temperature_c": 25.0, "pkw": 14.0}
    (out / "data" / "setup.json").write_text(json.dumps(setup, indent=2, sort_keys=True))
    np.save(out / "data" / "query_volumes_ml.npy", query.astype(np.float64))
    np.save(out / "reference" / "acid_ref.npy", np.array([pka1, pka2, acid], dtype=np.float64))
    np.save(out / "reference" / "equivalence_ref.npy", np.array([ve1, 2 * ve1], dtype=np.float64))
    np.save(out / "reference" / "ph_ref.npy", ph_curve(query, pka1, pka2, acid).astype(np.float64))

    values = {"n_points": n, "n_query": n_query}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/titration.csv", "data/setup.json", "data/query_volumes_ml.npy"],
        "reference_files": ["reference/acid_ref.npy", "reference/equivalence_ref.npy", "reference/ph_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
