"""Generator for medicine.oral_pharmacokinetics.

Patients of different body weights take one oral dose; plasma concentrations are sampled sparsely with
proportional assay noise and a few values below the limit of quantification. Absorption is first order
(rate ka) into one compartment; clearance scales allometrically with weight, CL = CL70 (w/70)^0.75, and
volume linearly, V = V70 (w/70). The agent must estimate ka, CL70 and V70 from the pooled data and
predict the concentration-time course of a new patient on a repeated-dose regimen.

Run: python generate_gt.py --output-dir DIR --params '{"seed": 0}'
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import numpy as np

TASK_ID = "medicine.oral_pharmacokinetics"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_patients": 12, "assay_cv": 0.1, "n_eval": 200}
HERE = Path(__file__).resolve().parent
LLOQ = 0.05  # mg/L


def concentration(t, dose, ka, cl, v):
    """One-compartment oral absorption (Bateman function), t in hours, dose in mg, result mg/L."""
    k = cl / v
    t = np.asarray(t, dtype=float)
    return np.where(
        t > 0, dose * ka / (v * (ka - k)) * (np.exp(-k * np.clip(t, 0, None)) - np.exp(-ka * np.clip(t, 0, None))), 0.0
    )


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
    n, cv, n_eval = int(params["n_patients"]), float(params["assay_cv"]), int(params["n_eval"])

    ka = rng.uniform(0.6, 2.5)  # 1/h
    cl70 = rng.uniform(3.0, 12.0)  # L/h
    v70 = rng.uniform(30.0, 90.0)  # L
    rows = []
    for patient in range(1, n + 1):
        weight = round(float(rng.uniform(45, 120)), 1)
        dose = float(rng.choice([100, 200, 400]))
        cl, v = cl70 * (weight / 70) ** 0.75, v70 * weight / 70
        times = np.sort(rng.choice([0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 24], int(rng.integers(5, 8)), replace=False))
        conc = concentration(times, dose, ka, cl, v) * np.exp(rng.normal(0, cv, times.size))
        age = int(rng.integers(20, 80))
        for t, c in zip(times, conc, strict=True):
            rows.append((patient, weight, age, dose, t, f"{c:.4f}" if c >= LLOQ else "<LLOQ"))

    new_weight = round(float(rng.uniform(50, 110)), 1)
    new_dose = 200.0
    interval = float(rng.choice([8.0, 12.0]))
    eval_times = np.linspace(0.0, 4 * interval, n_eval)
    cl, v = cl70 * (new_weight / 70) ** 0.75, v70 * new_weight / 70
    course = sum(concentration(eval_times - k * interval, new_dose, ka, cl, v) for k in range(4))

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "concentrations.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient", "weight_kg", "age_y", "dose_mg", "time_h", "concentration_mg_l"])
        writer.writerows(rows)
    regimen = {"weight_kg": new_weight, "dose_mg": new_dose, "interval_h": interval, "doses": 4, "lloq_mg_l": LLOQ}
    (out / "data" / "new_patient.json").write_text(json.dumps(regimen, indent=2, sort_keys=True))
    np.save(out / "data" / "eval_times_h.npy", eval_times.astype(np.float64))
    np.save(out / "reference" / "parameters_ref.npy", np.array([ka, cl70, v70 / 70.0], dtype=np.float64))
    np.save(out / "reference" / "course_ref.npy", course.astype(np.float64))

    values = {"n_patients": n, "n_eval": n_eval}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/concentrations.csv", "data/new_patient.json", "data/eval_times_h.npy"],
        "reference_files": ["reference/parameters_ref.npy", "reference/course_ref.npy"],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
