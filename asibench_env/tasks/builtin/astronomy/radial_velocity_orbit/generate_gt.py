"""Generator for astronomy.radial_velocity_orbit.

Radial velocities of a star with one planet on an eccentric Keplerian orbit, sampled irregularly over
a few observing seasons, with per-point uncertainties and extra stellar jitter. The agent must find
the period, semi-amplitude and eccentricity, the planet's minimum mass, and predict the star's radial
velocity at requested times.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "astronomy.radial_velocity_orbit"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_obs": 60, "jitter_ms": 3.0, "n_eval": 150}
HERE = Path(__file__).resolve().parent
G, M_SUN, M_JUP, DAY = 6.674e-11, 1.989e30, 1.898e27, 86400.0


def radial_velocity(t, period, k, e, omega, tp, gamma):
    mean_anomaly = 2 * np.pi * (t - tp) / period
    ecc = mean_anomaly.copy()
    for _ in range(60):  # Newton's method on Kepler's equation
        ecc = ecc - (ecc - e * np.sin(ecc) - mean_anomaly) / (1 - e * np.cos(ecc))
    true_anomaly = 2 * np.arctan2(np.sqrt(1 + e) * np.sin(ecc / 2), np.sqrt(1 - e) * np.cos(ecc / 2))
    return gamma + k * (np.cos(true_anomaly + omega) + e * np.cos(omega))


def minimum_mass(period, k, e, star_mass):
    """m sin i in Jupiter masses (planet mass much smaller than the star's)."""
    return k * np.sqrt(1 - e**2) * (period * DAY / (2 * np.pi * G)) ** (1 / 3) * (star_mass * M_SUN) ** (2 / 3) / M_JUP


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
    n, jitter, n_eval = int(params["n_obs"]), float(params["jitter_ms"]), int(params["n_eval"])

    period = float(np.exp(rng.uniform(np.log(4.0), np.log(60.0))))
    k = rng.uniform(25.0, 80.0)
    e = rng.uniform(0.1, 0.6)
    omega = rng.uniform(0, 2 * np.pi)
    tp = rng.uniform(0, period)
    gamma = rng.uniform(-30.0, 30.0)
    star_mass = round(float(rng.uniform(0.7, 1.3)), 3)

    seasons = np.concatenate([rng.uniform(s * 365.0, s * 365.0 + 150.0, n // 3 + 1) for s in range(3)])
    times = np.sort(rng.choice(seasons, n, replace=False))
    errors = rng.uniform(1.0, 3.0, n)
    rv = radial_velocity(times, period, k, e, omega, tp, gamma) + rng.normal(0, np.sqrt(errors**2 + jitter**2))
    eval_times = np.sort(rng.uniform(times.min(), times.max(), n_eval))

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "radial_velocities.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time_d", "rv_ms", "rv_err_ms", "bisector_span_ms"])
        for row in zip(times, rv, errors, rng.normal(0, 4.0, n), strict=True):
            writer.writerow([f"{row[0]:.5f}", f"{row[1]:.3f}", f"{row[2]:.3f}", f"{row[3]:.2f}"])
    (out / "data" / "star.json").write_text(json.dumps({"mass_msun": star_mass}, indent=2))
    np.save(out / "data" / "eval_times_d.npy", eval_times.astype(np.float64))
    msini = minimum_mass(period, k, e, star_mass)
    np.save(out / "reference" / "orbit_ref.npy", np.array([period, k, e, msini], dtype=np.float64))
    np.save(out / "reference" / "rv_ref.npy", radial_velocity(eval_times, period, k, e, omega, tp, gamma))

    values = {"n_obs": n, "n_eval": n_eval}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/radial_velocities.csv", "data/star.json", "data/eval_times_d.npy"],
        "reference_files": ["reference/orbit_ref.npy", "reference/rv_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
