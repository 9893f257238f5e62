"""Generator for electrical_engineering.filter_identification.

An unknown second-order low-pass circuit (natural frequency, damping ratio and DC gain drawn per seed)
is excited by a periodic multisine; input and output voltages are sampled, the output with a DC offset
and noise, the input with a little noise. The agent must identify the transfer function
H(s) = K w0^2 / (s^2 + 2 zeta w0 s + w0^2) and report its frequency response at requested frequencies.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "electrical_engineering.filter_identification"
GENERATOR_VERSION = "1"
PARAMETERS = {"periods": 4, "noise_v": 0.01, "n_freq": 60}
HERE = Path(__file__).resolve().parent
FS = 20480.0
PERIOD_SAMPLES = 2048


def response(freqs: np.ndarray, f0: float, zeta: float, gain: float) -> np.ndarray:
    w, w0 = 2 * np.pi * freqs, 2 * np.pi * f0
    return gain * w0**2 / (-(w**2) + 2j * zeta * w0 * w + w0**2)


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
    periods, noise, n_freq = int(params["periods"]), float(params["noise_v"]), int(params["n_freq"])

    f0 = float(np.exp(rng.uniform(np.log(150.0), np.log(1200.0))))
    zeta = rng.uniform(0.08, 0.7)
    gain = rng.uniform(0.5, 4.0)
    offset = rng.uniform(-0.3, 0.3)

    bins = np.unique(np.round(np.geomspace(2, 600, 70)).astype(int))
    n = PERIOD_SAMPLES * periods
    t = np.arange(n) / FS
    phases = -np.pi * bins * (bins - 1) / bins.size  # Schroeder phases keep the crest factor low
    lines = bins * FS / PERIOD_SAMPLES
    u = sum(np.cos(2 * np.pi * f * t + p) for f, p in zip(lines, phases, strict=True))
    scale = np.max(np.abs(u))
    u = u / scale
    # The exact steady-state output of the multisine, plus the decaying free response that starts the
    # circuit from rest (so the first period holds a transient).
    h_lines = response(lines, f0, zeta, gain)
    y = sum(
        np.abs(h) * np.cos(2 * np.pi * f * t + p + np.angle(h)) for f, p, h in zip(lines, phases, h_lines, strict=True)
    )
    y = y / scale
    w0 = 2 * np.pi * f0
    wd = w0 * np.sqrt(1 - zeta**2)
    y = y - y[0] * np.exp(-zeta * w0 * t) * (np.cos(wd * t) + zeta * w0 / wd * np.sin(wd * t))
    y_meas = y + offset + rng.normal(0, noise, n)
    u_meas = u + rng.normal(0, noise / 4, n)
    supply = 24.0 + 0.05 * np.sin(2 * np.pi * 50 * t) + rng.normal(0, 0.01, n)

    freqs = np.sort(np.exp(rng.uniform(np.log(20.0), np.log(6000.0), n_freq)))
    h = response(freqs, f0, zeta, gain)

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "signals.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time_s", "input_v", "output_v", "supply_v"])
        for row in zip(t, u_meas, y_meas, supply, strict=True):
            writer.writerow([f"{row[0]:.8f}", f"{row[1]:.6f}", f"{row[2]:.6f}", f"{row[3]:.4f}"])
    np.save(out / "data" / "frequencies_hz.npy", freqs.astype(np.float64))
    np.save(out / "reference" / "parameters_ref.npy", np.array([f0, zeta, gain], dtype=np.float64))
    np.save(out / "reference" / "magnitude_ref.npy", (20 * np.log10(np.abs(h))).astype(np.float64))
    np.save(out / "reference" / "phase_ref.npy", np.unwrap(np.angle(h)).astype(np.float64))

    values = {"n_samples": n, "fs": int(FS), "n_freq": n_freq, "period_samples": PERIOD_SAMPLES}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/signals.csv", "data/frequencies_hz.npy"],
        "reference_files": ["reference/parameters_ref.npy", "reference/magnitude_ref.npy", "reference/phase_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
