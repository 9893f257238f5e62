"""Generator for statistics.changepoint_detection.

A process measurement holds a piecewise-constant level that shifts a few times (the number of shifts
varies), observed with autocorrelated AR(1) noise and occasional spikes. The agent must find how many
shifts there are, reconstruct the level, and estimate the noise's autocorrelation and innovation
standard deviation.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "statistics.changepoint_detection"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_samples": 1000, "spike_fraction": 0.01}
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
    n, spikes = int(params["n_samples"]), float(params["spike_fraction"])

    count = int(rng.integers(1, 7))
    while True:
        cuts = np.sort(rng.choice(np.arange(60, n - 60), count, replace=False))
        if np.all(np.diff(np.r_[0, cuts, n]) >= 60):
            break
    levels = [rng.uniform(8.0, 12.0)]
    for _ in range(count):
        levels.append(levels[-1] + rng.choice([-1, 1]) * rng.uniform(2.0, 4.0))
    mean = np.repeat(levels, np.diff(np.r_[0, cuts, n]))
    phi = rng.uniform(0.2, 0.5)
    sigma = rng.uniform(0.6, 1.0)
    noise = np.empty(n)
    noise[0] = rng.normal(0, sigma / np.sqrt(1 - phi**2))
    shocks = rng.normal(0, sigma, n)
    for k in range(1, n):
        noise[k] = phi * noise[k - 1] + shocks[k]
    values = mean + noise
    spiked = rng.random(n) < spikes
    values[spiked] += rng.choice([-1, 1], spiked.sum()) * rng.uniform(6, 12, spiked.sum()) * sigma
    ambient = 18 + 3 * np.sin(2 * np.pi * np.arange(n) / 288) + rng.normal(0, 0.3, n)

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "series.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample", "value", "ambient_c"])
        for k in range(n):
            writer.writerow([k, f"{values[k]:.5f}", f"{ambient[k]:.3f}"])
    np.save(out / "reference" / "count_ref.npy", np.array([count], dtype=np.int64))
    np.save(out / "reference" / "level_ref.npy", mean.astype(np.float64))
    np.save(out / "reference" / "noise_ref.npy", np.array([phi, sigma], dtype=np.float64))

    text_values = {"n_samples": n}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, text_values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/series.csv"],
        "reference_files": ["reference/count_ref.npy", "reference/level_ref.npy", "reference/noise_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
