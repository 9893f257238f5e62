"""Generator for astronomy.transit_light_curve.

A star's relative flux, sampled at irregular times with a gap, carries spot-modulated rotational
variability, a slow instrumental drift, white noise and short positive flares; a planet transits it
periodically with a trapezoidal dip. The agent must detrend without erasing the transits, find the
period, fit the transit shape, and predict the dimming during transits after the observations end.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "astronomy.transit_light_curve"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_points": 3000, "noise": 0.001, "baseline_days": 27.0, "n_eval": 400}
HERE = Path(__file__).resolve().parent
INGRESS_FRACTION = 0.15


def dimming(t: np.ndarray, period: float, t0: float, depth: float, duration: float) -> np.ndarray:
    """Fractional flux decrease of a trapezoidal transit (total duration, flat-bottom depth)."""
    phase = (t - t0 + 0.5 * period) % period - 0.5 * period
    x = np.abs(phase)
    ingress = INGRESS_FRACTION * duration
    half = 0.5 * duration
    out = np.where(x <= half - ingress, depth, 0.0)
    sloped = (x > half - ingress) & (x < half)
    return np.where(sloped, depth * (half - x) / ingress, out)


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
    n, noise, baseline, n_eval = (
        int(params["n_points"]),
        float(params["noise"]),
        float(params["baseline_days"]),
        int(params["n_eval"]),
    )

    period = rng.uniform(1.2, 5.0)
    t0 = rng.uniform(0.0, period)  # the first mid-transit time at or after t = 0
    depth = rng.uniform(0.004, 0.012)
    duration = rng.uniform(0.07, 0.16)
    p_rot = rng.uniform(4.0, 12.0)
    amp = rng.uniform(0.003, 0.01)
    phases = rng.uniform(0, 2 * np.pi, 2)
    drift = rng.uniform(-0.004, 0.004)

    gap_start = rng.uniform(0.4, 0.6) * baseline
    times = np.sort(rng.uniform(0.0, baseline - 1.5, 2 * n))
    times = np.where(times > gap_start, times + 1.5, times)  # a 1.5-day downlink gap
    times = np.sort(rng.choice(times, n, replace=False))
    variability = amp * np.sin(2 * np.pi * times / p_rot + phases[0]) + 0.4 * amp * np.sin(
        4 * np.pi * times / p_rot + phases[1]
    )
    trend = drift * (times - baseline / 2) / baseline
    flux = (1.0 + variability + trend) * (1.0 - dimming(times, period, t0, depth, duration))
    flux = flux + rng.normal(0.0, noise, n)
    flares = rng.random(n) < 0.006
    flux[flares] += rng.uniform(0.004, 0.02, flares.sum())
    background = 120 + 15 * np.sin(2 * np.pi * times / 13.7) + rng.normal(0, 3, n)

    last = baseline + 0.0
    k_first = int(np.ceil((last + 1.0 - t0) / period))
    future = t0 + period * (k_first + np.arange(3))
    eval_times = np.sort(np.concatenate([c + rng.uniform(-1.0, 1.0, n_eval // 3 + 1) * duration for c in future]))[
        :n_eval
    ]

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "light_curve.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time_d", "flux", "flux_err", "background"])
        for row in zip(times, flux, np.full(n, noise), background, strict=True):
            writer.writerow([f"{row[0]:.6f}", f"{row[1]:.7f}", f"{row[2]:.6f}", f"{row[3]:.2f}"])
    np.save(out / "data" / "eval_times.npy", eval_times.astype(np.float64))
    np.save(out / "reference" / "parameters_ref.npy", np.array([period, t0, depth, duration], dtype=np.float64))
    np.save(out / "reference" / "dimming_ref.npy", dimming(eval_times, period, t0, depth, duration).astype(np.float64))

    values = {"n_points": n, "baseline": f"{baseline:.0f}", "n_eval": n_eval}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/light_curve.csv", "data/eval_times.npy"],
        "reference_files": ["reference/parameters_ref.npy", "reference/dimming_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
