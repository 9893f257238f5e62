"""Generator for chemistry.consecutive_reaction_kinetics.

A first-order consecutive reaction A -> B -> C (rate constants k1, k2) is sampled at irregular times:
[A] and [B] are measured with proportional and additive noise, [C] is not measured. The agent must
estimate k1 and k2, the time at which [B] peaks, and predict [B] on a grid.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "chemistry.consecutive_reaction_kinetics"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_samples": 80, "noise": 0.02, "n_eval": 300}
HERE = Path(__file__).resolve().parent


def concentrations(t: np.ndarray, a0: float, k1: float, k2: float) -> tuple[np.ndarray, np.ndarray]:
    a = a0 * np.exp(-k1 * t)
    b = a0 * k1 / (k2 - k1) * (np.exp(-k1 * t) - np.exp(-k2 * t))
    return a, b


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

    k1 = rng.uniform(0.15, 1.2)
    ratio = rng.choice([rng.uniform(0.15, 0.6), rng.uniform(1.7, 4.0)])  # k2/k1, away from the k1 = k2 singularity
    k2 = k1 * ratio
    a0 = rng.uniform(0.5, 2.0)
    horizon = 6.0 / min(k1, k2)

    n = int(params["n_samples"])
    t = np.sort(np.concatenate([[0.0], horizon * rng.beta(0.8, 1.6, n - 1)]))
    a, b = concentrations(t, a0, k1, k2)
    noise = float(params["noise"])
    a_obs = a * (1 + rng.normal(0, noise, n)) + rng.normal(0, noise * a0 * 0.5, n)
    b_obs = b * (1 + rng.normal(0, noise, n)) + rng.normal(0, noise * a0 * 0.5, n)
    temperature = 298.15 + rng.normal(0, 0.05, n)
    ph = 7.0 + rng.normal(0, 0.02, n)

    eval_times = np.linspace(0.0, horizon, int(params["n_eval"]))
    t_max = np.log(k2 / k1) / (k2 - k1)
    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "concentrations.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time_min", "A_mM", "B_mM", "temperature_K", "pH"])
        for row in zip(t, a_obs, b_obs, temperature, ph, strict=True):
            writer.writerow([f"{row[0]:.5f}", f"{row[1]:.6f}", f"{row[2]:.6f}", f"{row[3]:.3f}", f"{row[4]:.3f}"])
    np.save(out / "data" / "eval_times.npy", eval_times)
    np.save(out / "reference" / "kinetics_ref.npy", np.array([k1, k2, t_max], dtype=np.float64))
    np.save(out / "reference" / "b_profile_ref.npy", concentrations(eval_times, a0, k1, k2)[1])

    values = {"n_samples": n, "n_eval": eval_times.size, "horizon": f"{horizon:.1f}"}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/concentrations.csv", "data/eval_times.npy"],
        "reference_files": ["reference/kinetics_ref.npy", "reference/b_profile_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
