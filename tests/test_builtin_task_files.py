"""File-level checks of every built-in task, independent of the env and the sandbox.

For each task folder under asibench_env/tasks/builtin/<domain>/<name>/: the YAML files parse and carry the
required keys, the scoring weights sum to 100, the generator (run with the current interpreter) is
deterministic and honours its declared defaults, no reference file is a byte copy of a data file, the four
prompts exist, differ pairwise and render without template leftovers, and custom scorers never crash.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BUILTIN = Path(__file__).resolve().parents[1] / "asibench_env" / "tasks" / "builtin"
TASK_DIRS = sorted(p.parent for p in BUILTIN.glob("*/*/task_meta.yaml"))
LEVELS = ("b1", "b2", "b3", "b4")
META_KEYS = {
    "id",
    "name",
    "version",
    "status",
    "domain",
    "subdomain",
    "source",
    "difficulty",
    "tags",
    "runtime",
    "prompts",
    "input",
    "output",
}
ALLOWED_PACKAGES = re.compile(r"^(numpy|scipy|pandas|matplotlib)(>=[\d.]+)?$")
BUILTIN_SCORERS = {"file_match", "numerical", "code_analysis", "composite"}


def _task_id(task_dir: Path) -> str:
    return f"{task_dir.parent.name}.{task_dir.name}"


def _yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def _generate(task_dir: Path, out: Path, params: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(task_dir / "generate_gt.py"), "--output-dir", str(out), "--params", json.dumps(params)],
        capture_output=True,
        text=True,
        cwd=task_dir,
        timeout=120,
    )


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory):
    """Generated instance folders, made once per (task, label)."""
    made: dict[tuple[str, str], Path] = {}

    def get(task_dir: Path, label: str, params: dict) -> Path:
        key = (str(task_dir), label)
        if key not in made:
            out = tmp_path_factory.mktemp(task_dir.name) / label
            proc = _generate(task_dir, out, params)
            assert proc.returncode == 0, proc.stderr
            made[key] = out
        return made[key]

    return get


def test_every_task_folder_is_found():
    from asibench_env.tasks.registry import builtin_registry

    assert [_task_id(d) for d in TASK_DIRS] == sorted(builtin_registry().ids())
    assert len(TASK_DIRS) >= 16


@pytest.mark.parametrize("task_dir", TASK_DIRS, ids=_task_id)
def test_yaml_files(task_dir: Path):
    meta = _yaml(task_dir / "task_meta.yaml")
    ev = _yaml(task_dir / "task_eval.yaml")
    assert set(meta) >= META_KEYS, META_KEYS - set(meta)
    assert meta["id"] == _task_id(task_dir) == ev["task_id"]
    assert meta["domain"] == task_dir.parent.name
    assert re.fullmatch(r"\d+\.\d+", meta["version"]) and meta["status"] == "final"
    assert "evaluation" not in meta and "generation" not in meta  # the scoring contract stays out of the public file
    assert meta["difficulty"]["requires_gpu"] is False and meta["difficulty"]["requires_network"] is False
    assert meta["prompts"] == {level: f"prompt_{level}.md" for level in LEVELS}
    assert meta["runtime"]["packages"] and all(ALLOWED_PACKAGES.match(p) for p in meta["runtime"]["packages"])
    assert meta["input"]["files"] and all({"name", "type", "description"} <= set(f) for f in meta["input"]["files"])
    outputs = meta["output"]["files"]
    assert len([f for f in outputs if f["type"] != "code"]) >= 2
    assert all({"name", "type", "description"} <= set(f) for f in outputs)
    assert {f["name"] for f in ev["output"]["files"]} <= {f["name"] for f in outputs}

    evaluation = ev["evaluation"]
    assert any(g.get("severity", "hard") == "hard" and g["scorer"] == "file_match" for g in evaluation["gates"])
    gate_checks = [c for g in evaluation["gates"] for c in g["config"].get("checks", [])]
    assert {"check": "no_nan_inf"} in gate_checks
    hard_files = {
        c["file"]
        for g in evaluation["gates"]
        if g["scorer"] == "file_match" and g.get("severity", "hard") == "hard"
        for c in g["config"].get("checks", [])
        if "file" in c
    }
    for figure in (f["name"] for f in outputs if f["type"] == "figure"):  # required, like the official tasks' figures
        assert figure in hard_files, figure
        assert "matplotlib" in " ".join(meta["runtime"]["packages"]), "a figure needs matplotlib"
    scoring = evaluation["scoring"]
    assert len(scoring) >= 2
    assert math.isclose(sum(float(s["weight"]) for s in scoring), 100.0)
    assert any(s["scorer"] == "numerical" for s in scoring)
    if any(s["scorer"] not in BUILTIN_SCORERS for s in scoring):
        assert (task_dir / "custom_scorer.py").is_file()

    generation = ev["generation"]
    assert generation["script"] == "generate_gt.py" and generation["mode"] == "infinite"
    for name, spec in generation["parameters"].items():
        assert spec["type"] in ("int", "float"), name
        low, high = spec["range"]
        assert low <= spec["default"] <= high, name
    for name in ("generate_gt.py", "solution/solve.py", *(f"prompt_{level}.md" for level in LEVELS)):
        assert (task_dir / name).is_file(), name


@pytest.mark.slow
@pytest.mark.parametrize("task_dir", TASK_DIRS, ids=_task_id)
def test_generator_is_deterministic_and_leaks_nothing(task_dir: Path, instances):
    ev = _yaml(task_dir / "task_eval.yaml")
    meta = _yaml(task_dir / "task_meta.yaml")
    first = _files(instances(task_dir, "a", {"seed": 7}))
    second = _files(instances(task_dir, "b", {"seed": 7}))
    assert first == second  # byte-identical, instance_meta.json included
    assert _files(instances(task_dir, "c", {"seed": 8})) != first

    data = {k: v for k, v in first.items() if k.startswith("data/")}
    references = {k: v for k, v in first.items() if k.startswith("reference/")}
    assert data and references
    assert not set(data.values()) & set(references.values())
    assert {f["name"] for f in meta["input"]["files"]} == set(data)
    for entry in ev["evaluation"]["scoring"]:
        ref_file = entry.get("config", {}).get("ref_file")
        if ref_file:
            assert f"reference/{ref_file}" in references, ref_file

    prompts = [first[f"prompt_{level}.md"].decode("utf-8") for level in LEVELS]
    assert len(set(prompts)) == 4  # pairwise different
    for text in prompts:
        assert "{{" not in text and "}}" not in text
        assert "reference/" not in text
        for output in meta["output"]["files"]:
            assert output["name"] in text, output["name"]

    instance_meta = json.loads(first["instance_meta.json"])
    assert instance_meta["task_id"] == meta["id"]
    assert "generator_version" in instance_meta
    defaults = {name: spec["default"] for name, spec in ev["generation"]["parameters"].items()}
    assert instance_meta["params_used"] == {**defaults, "seed": 7}  # missing parameters take the declared defaults


@pytest.mark.parametrize("task_dir", TASK_DIRS, ids=_task_id)
def test_reference_does_not_leak_at_another_seed(task_dir: Path, instances):
    """The validator checks seed 0; a second seed guards against leaks that depend on the draw."""
    from asibench_env.runs.validation import find_leaks

    out = instances(task_dir, "a", {"seed": 7})
    assert sorted(p.name for p in out.glob("prompt_b*.md")) == [f"prompt_{level}.md" for level in LEVELS]
    assert find_leaks(out) == []


@pytest.mark.parametrize("task_dir", TASK_DIRS, ids=_task_id)
def test_unknown_parameter_is_refused(task_dir: Path, tmp_path: Path):
    proc = _generate(task_dir, tmp_path / "x", {"seed": 1, "no_such_parameter": 3})
    assert proc.returncode != 0
    assert "unknown parameters" in proc.stderr


@pytest.mark.parametrize("task_dir", [d for d in TASK_DIRS if (d / "custom_scorer.py").is_file()], ids=_task_id)
def test_custom_scorer_never_crashes_on_garbage(task_dir: Path, instances, tmp_path: Path):
    from ai4sci_bench.core.scorer import get_scorer

    spec = importlib.util.spec_from_file_location(f"custom_scorer_{task_dir.name}", task_dir / "custom_scorer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ev = _yaml(task_dir / "task_eval.yaml")
    ref_dir = instances(task_dir, "a", {"seed": 7}) / "reference"
    custom = [s for s in ev["evaluation"]["scoring"] if s["scorer"] not in BUILTIN_SCORERS]
    assert custom
    garbage = ["", "not json", "[1, 2]", '{"order_A": "one", "k1": null}', '{"k1": NaN, "k2": 1e999}', "{}", "\xff"]
    for entry in custom:
        scorer = get_scorer(entry["scorer"])
        config = {**entry["config"], "weight": entry["weight"]}
        result = scorer.score(tmp_path, ref_dir, config)  # nothing written yet
        assert result.score == 0.0 and result.message
        target = tmp_path / config.get("pred_file", "missing")
        target.parent.mkdir(parents=True, exist_ok=True)
        for text in garbage:
            target.write_text(text, encoding="latin-1")
            result = scorer.score(tmp_path, ref_dir, config)
            assert result.score == 0.0, (text, result)
        target.unlink()
        target.mkdir()  # a folder where a file belongs
        assert scorer.score(tmp_path, ref_dir, config).score == 0.0
        target.rmdir()
