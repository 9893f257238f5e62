"""Generator for materials.tensile_test_properties.

Tensile tests of several specimens of one alloy: engineering stress against strain from an
extensometer. Each specimen follows Ramberg-Osgood hardening (strain = stress/E + 0.002 (stress/s_y)^m,
so s_y is the 0.2 % offset yield strength), then necks after the ultimate strength and breaks. The grips
seat during the first loading (a toe region), and stress and strain carry noise. The agent must
compensate the toe, find Young's modulus, the offset yield, the ultimate strength, the elongation at
fracture and the hardening exponent of every specimen.

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

TASK_ID = "materials.tensile_test_properties"
GENERATOR_VERSION = "1"
PARAMETERS = {"n_specimens": 5, "stress_noise_mpa": 1.0, "points_per_test": 1500}
HERE = Path(__file__).resolve().parent


def strain_of(stress: np.ndarray, modulus: float, yield_strength: float, exponent: float) -> np.ndarray:
    return stress / modulus + 0.002 * (stress / yield_strength) ** exponent


def render(template: str, values: dict[str, object]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(values[m.group(1)]), template)


def one_test(rng: np.random.Generator, modulus: float, sy: float, m: float, points: int, noise: float):
    """Engineering strain and stress of one test, and its true properties."""
    uts_strain = rng.uniform(0.08, 0.16)  # uniform elongation
    uts = brentq(lambda s: strain_of(s, modulus, sy, m) - uts_strain, sy * 0.5, sy * 5)
    fracture_strain = uts_strain + rng.uniform(0.03, 0.08)
    drop = rng.uniform(0.08, 0.18)
    toe = rng.uniform(0.0004, 0.0012)  # strain taken up while the grips seat

    eps = np.concatenate(
        [np.linspace(0, 0.006, points // 3, endpoint=False), np.linspace(0.006, fracture_strain, points - points // 3)]
    )
    stress = np.empty_like(eps)
    hardening = eps <= uts_strain
    grid = np.linspace(0.0, uts, 4000)
    stress[hardening] = np.interp(eps[hardening], strain_of(grid, modulus, sy, m), grid)
    after = (eps[~hardening] - uts_strain) / (fracture_strain - uts_strain)
    stress[~hardening] = uts * (1 - drop * after**2)
    measured_strain = eps + toe
    seating = np.linspace(0, toe, 60, endpoint=False)
    seating_stress = 0.02 * sy * (seating / toe) ** 2
    strain = np.concatenate([seating, measured_strain])
    stress = np.concatenate([seating_stress, stress])
    strain = strain + rng.normal(0, 2e-6, strain.size)
    stress = stress + rng.normal(0, noise, stress.size)
    return strain, stress, (modulus, sy, uts, fracture_strain, m)


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
    count, points, noise = int(params["n_specimens"]), int(params["points_per_test"]), float(params["stress_noise_mpa"])

    base_modulus = rng.uniform(68e3, 210e3)  # MPa: aluminium to steel
    base_yield = rng.uniform(200.0, 600.0)
    base_exponent = rng.uniform(6.0, 18.0)
    rows, truth = [], []
    for specimen in range(1, count + 1):
        modulus = base_modulus * rng.uniform(0.97, 1.03)
        sy = base_yield * rng.uniform(0.92, 1.08)
        m = base_exponent * rng.uniform(0.9, 1.1)
        strain, stress, props = one_test(rng, modulus, sy, m, points, noise)
        temperature = 21.0 + rng.normal(0, 0.3, strain.size)
        rows += [(specimen, e, s, c) for e, s, c in zip(strain, stress, temperature, strict=True)]
        truth.append(props)
    truth = np.array(truth)

    out = Path(args.output_dir)
    (out / "data").mkdir(parents=True)
    (out / "reference").mkdir()
    with open(out / "data" / "tensile_tests.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["specimen", "strain", "stress_mpa", "chamber_temperature_c"])
        for specimen, e, s, c in rows:
            writer.writerow([specimen, f"{e:.7f}", f"{s:.3f}", f"{c:.2f}"])
    np.save(out / "reference" / "moduli_ref.npy", truth[:, 0].astype(np.float64))  # MPa
    np.save(out / "reference" / "strengths_ref.npy", truth[:, 1:3].astype(np.float64))
    np.save(out / "reference" / "elongation_ref.npy", (100.0 * truth[:, 3]).astype(np.float64))  # per cent
    np.save(out / "reference" / "hardening_ref.npy", truth[:, 4].astype(np.float64))

    values = {"n_specimens": count}
    for level in ("b1", "b2", "b3", "b4"):
        text = (HERE / f"prompt_{level}.md").read_text(encoding="utf-8")
        (out / f"prompt_{level}.md").write_text(render(text, values), encoding="utf-8")
    meta = {
        "task_id": TASK_ID,
        "generator_version": GENERATOR_VERSION,
        "params_used": params,
        "data_files": ["data/tensile_tests.csv"],
        "reference_files": [f"reference/{n}_ref.npy" for n in ("moduli", "strengths", "elongation", "hardening")],
    }
    (out / "instance_meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main()
