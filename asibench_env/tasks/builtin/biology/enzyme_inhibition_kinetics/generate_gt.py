"""Generator for biology.enzyme_inhibition_kinetics.

Initial rates of an enzyme at several substrate and inhibitor concentrations, in replicate, with
multiplicative noise and a couple of pipetting outliers. The inhibitor acts competitively,
uncompetitively or in mixed fashion (drawn per seed), in the general law

    v = Vmax S / (Km (1 + I / Kic) + S (1 + I / Kiu)),

with Kiu absent (infinite) for competitive and Kic absent for uncompetitive inhibition. The agent must
find the mode, Vmax and Km, and predict rates at new (S, I) conditions.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "biology.enzyme_inhibition_kinetics"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_substrate": 8, "n_replicates": 3, "noise": 0.05, "n_query": 40}
HERE = Path(__file__).resolve().parent
MODES = {1: "competitive", 2: "uncompetitive", 3: "mixed"}


def rate(s, i, vmax, km, kic, kiu):
    return vmax * s / (km * (1 + i / kic) + s * (1 + i / kiu))


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
    n_s, reps = int(params["n_substrate"]), int(params["n_replicates"])
    noise, n_query = float(params["noise"]), int(params["n_query"])

    mode = int(rng.integers(1, 4))
    vmax = rng.uniform(5.0, 50.0)  # uM/min
    km = float(np.exp(rng.uniform(np.log(5.0), np.log(200.0))))  # uM
    ki = float(np.exp(rng.uniform(np.log(0.5), np.log(50.0))))  # uM
    alpha = rng.uniform(2.0, 6.0)
    kic = ki if mode in (1, 3) else np.inf
    kiu = ki * alpha if mode == 3 else (ki if mode == 2 else np.inf)

    substrate = km * np.geomspace(0.15, 12.0, n_s)
    inhibitor = ki * np.array([0.0, 0.5, 1.5, 4.0])
    rows = []
    for i in inhibitor:
        for s in substrate:
            for r in range(1, reps + 1):
                v = rate(s, i, vmax, km, kic, kiu) * np.exp(rng.normal(0.0, noise))
                rows.append([s, i, r, v, 30.0 + rng.normal(0, 0.2)])
    rows = np.array(rows)
    bad = rng.choice(len(rows), 2, replace=False)
    rows[bad, 3] *= rng.choice([0.55, 1.7], 2)

    query_s = km * np.exp(rng.uniform(np.log(0.1), np.log(20.0), n_query))
    query_i = ki * rng.uniform(0.0, 6.0, n_query)
    truth_rates = rate(query_s, query_i, vmax, km, kic, kiu)

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "initial_rates.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["substrate_um", "inhibitor_um", "replicate", "rate_um_per_min", "plate_temperature_c"])
        for s, i, r, v, c in rows:
            writer.writerow([f"{s:.4f}", f"{i:.4f}", int(r), f"{v:.5f}", f"{c:.2f}"])
    with open(out / "data" / "query_conditions.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["substrate_um", "inhibitor_um"])
        for s, i in zip(query_s, query_i, strict=True):
            writer.writerow([f"{s:.4f}", f"{i:.4f}"])
    np.save(out / "reference" / "kinetics_ref.npy", np.array([vmax, km], dtype=np.float64))
    np.save(out / "reference" / "mode_ref.npy", np.array([mode], dtype=np.int64))
    np.save(out / "reference" / "rates_ref.npy", truth_rates.astype(np.float64))

    values = {"n_query": n_query, "n_rows": len(rows)}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/initial_rates.csv", "data/query_conditions.csv"],
        "reference_files": ["reference/kinetics_ref.npy", "reference/mode_ref.npy", "reference/rates_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
