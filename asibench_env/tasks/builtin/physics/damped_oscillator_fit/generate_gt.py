"""Generator for physics.damped_oscillator_fit.

A lightly damped oscillator x(t) = A exp(-gamma t) cos(omega_d t + phi) + c, with omega_d^2 = omega0^2 -
gamma^2, is sampled at irregular times with two gaps, Gaussian noise and a few outliers. The agent must
recover gamma, omega0 and Q = omega0 / (2 gamma), reconstruct the noise-free signal on a grid, and
predict the steady-state amplitude response to sinusoidal driving over a range of drive frequencies.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "physics.damped_oscillator_fit"
GENERATOR_VERSION = "2"
PARAMETERS = {"n_samples": 900, "noise": 0.03, "n_eval": 400, "outlier_fraction": 0.01, "n_freq": 300}
DRIVE_RANGE = (0.5, 10.0)  # rad/s, the same for every instance so the grid says nothing about omega0
HERE = Path(__file__).resolve().parent


def signal(t: np.ndarray, amplitude: float, gamma: float, omega0: float, phase: float, offset: float) -> np.ndarray:
    omega_d = np.sqrt(omega0**2 - gamma**2)
    return amplitude * np.exp(-gamma * t) * np.cos(omega_d * t + phase) + offset


def gain(omega: np.ndarray, gamma: float, omega0: float) -> np.ndarray:
    """Steady-state displacement amplitude per unit forcing amplitude per unit mass (s^2)."""
    return 1.0 / np.sqrt((omega0**2 - omega**2) ** 2 + (2.0 * gamma * omega) ** 2)


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

    omega0 = rng.uniform(2.0, 6.0)
    quality = rng.uniform(6.0, 20.0)
    gamma = omega0 / (2.0 * quality)
    amplitude = rng.uniform(0.5, 2.0)
    phase = rng.uniform(-np.pi, np.pi)
    offset = rng.uniform(-0.3, 0.3)
    duration = 4.0 / gamma  # about four decay times

    n = int(params["n_samples"])
    t = np.sort(rng.uniform(0.0, duration, 3 * n))
    for _ in range(2):  # two gaps of 6% of the record each
        start = rng.uniform(0.15, 0.8) * duration
        t = t[(t < start) | (t > start + 0.06 * duration)]
    t = np.sort(rng.choice(t, size=min(n, t.size), replace=False))
    clean = signal(t, amplitude, gamma, omega0, phase, offset)
    x = clean + rng.normal(0.0, float(params["noise"]) * amplitude, t.size)
    n_out = int(round(float(params["outlier_fraction"]) * t.size))
    idx = rng.choice(t.size, size=n_out, replace=False)
    x[idx] += rng.choice([-1.0, 1.0], n_out) * rng.uniform(1.0, 2.0, n_out) * amplitude
    sensor_temperature = 21.0 + 0.4 * np.sin(2 * np.pi * t / duration) + rng.normal(0, 0.05, t.size)

    eval_times = np.linspace(0.0, duration, int(params["n_eval"]))
    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "trajectory.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time_s", "displacement_m", "sensor_temperature_c"])
        for row in zip(t, x, sensor_temperature, strict=True):
            writer.writerow([f"{row[0]:.6f}", f"{row[1]:.6f}", f"{row[2]:.4f}"])
    np.save(out / "data" / "eval_times.npy", eval_times)
    drive = np.linspace(*DRIVE_RANGE, int(params["n_freq"]))
    np.save(out / "data" / "drive_frequencies.npy", drive)

    parameters = np.array([gamma, omega0, omega0 / (2.0 * gamma)], dtype=np.float64)
    np.save(out / "reference" / "parameters_ref.npy", parameters)
    np.save(out / "reference" / "fit_ref.npy", signal(eval_times, amplitude, gamma, omega0, phase, offset))

    np.save(out / "reference" / "response_ref.npy", gain(drive, gamma, omega0))

    values = {"n_freq": drive.size, "n_samples": t.size, "n_eval": eval_times.size, "duration": f"{duration:.2f}"}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/trajectory.csv", "data/eval_times.npy", "data/drive_frequencies.npy"],
        "reference_files": ["reference/parameters_ref.npy", "reference/fit_ref.npy", "reference/response_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
