"""Generator for robotics.gps_track_smoothing.

A ground robot drives with nearly constant velocity, perturbed by white-noise acceleration (a
continuous white-noise acceleration model with spectral density q). A GPS receiver gives position
fixes at irregular intervals, with dropouts, Gaussian noise of standard deviation r and a few
multipath outliers. The agent must reconstruct position and velocity at every fix time and estimate q
and r.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "robotics.gps_track_smoothing"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_fixes": 600, "outlier_fraction": 0.02}
HERE = Path(__file__).resolve().parent
DT = 0.05


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
    n_fixes, outliers = int(params["n_fixes"]), float(params["outlier_fraction"])

    q = float(np.exp(rng.uniform(np.log(0.02), np.log(0.2))))  # m^2/s^3
    r = rng.uniform(2.5, 4.0)  # m
    intervals = rng.uniform(0.8, 2.0, n_fixes)
    dropouts = rng.random(n_fixes) < 0.01
    intervals[dropouts] += rng.uniform(10.0, 25.0, dropouts.sum())
    times = 1.0 + np.cumsum(intervals) - intervals[0]
    steps = int(times[-1] / DT) + 2
    accel = rng.normal(0.0, np.sqrt(q / DT), (steps, 2))
    heading = rng.uniform(0, 2 * np.pi)
    velocity = np.cumsum(accel * DT, axis=0) + rng.uniform(1.5, 3.0) * np.array([np.cos(heading), np.sin(heading)])
    position = np.cumsum(velocity * DT, axis=0) + rng.uniform(-500, 500, 2)

    index = np.round(times / DT).astype(int)
    truth_pos, truth_vel = position[index], velocity[index]
    fixes = truth_pos + rng.normal(0.0, r, truth_pos.shape)
    bad = rng.random(times.size) < outliers
    angle = rng.uniform(0, 2 * np.pi, bad.sum())
    fixes[bad] += np.c_[np.cos(angle), np.sin(angle)] * rng.uniform(25, 70, bad.sum())[:, None]

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "gps_fixes.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time_s", "x_m", "y_m", "hdop", "satellites"])
        for k in range(times.size):
            writer.writerow([f"{times[k]:.3f}", f"{fixes[k, 0]:.3f}", f"{fixes[k, 1]:.3f}",
                             f"{rng.uniform(0.7, 2.5):.2f}", int(rng.integers(5, 13))])  # fmt: skip
    np.save(out / "reference" / "positions_ref.npy", truth_pos.astype(np.float64))
    np.save(out / "reference" / "velocities_ref.npy", truth_vel.astype(np.float64))
    np.save(out / "reference" / "noise_ref.npy", np.array([q, r], dtype=np.float64))

    values = {"n_fixes": times.size}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/gps_fixes.csv"],
        "reference_files": ["reference/positions_ref.npy", "reference/velocities_ref.npy", "reference/noise_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
