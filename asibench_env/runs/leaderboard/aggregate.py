"""Read run folders and build the leaderboard: one row per agent configuration.

The episodes come from each run's Parquet episodes table (vectorized with pyarrow and numpy); result
files fill in episodes the Parquet lacks (a half-written run, read with a warning) and are checked
against it by trust.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from asibench_env._version import __version__
from asibench_env.runs.leaderboard.bootstrap import (
    DEFAULT_RESAMPLES,
    hierarchical_interval,
    hierarchical_mean,
    row_rng,
)
from asibench_env.runs.leaderboard.model import (
    Configuration,
    Coverage,
    Estimate,
    Interval,
    Leaderboard,
    Row,
    RunSource,
)
from asibench_env.runs.leaderboard.trust import RunEvidence, assess_row, run_evidence
from asibench_env.tasks.hashing import task_set_sha256
from asibench_env.tasks.registry import TaskRegistry
from asibench_env.trajectories import EPISODES_SCHEMA, load

logger = logging.getLogger(__name__)

COLUMNS = [
    "run_id",
    "episode_id",
    "task_id",
    "instance_id",
    "prompt_level",
    "seed",
    "agent",
    "agent_config_json",
    "status",
    "final_score",
    "steps",
    "wall_time_s",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "finished_at",
    "artifacts",
]
COUNTED = ("scored", "agent_error")
"""Statuses that count in the means (an agent_error is a 0); infra_error and produced are counted apart."""
NOT_IDENTITY = {"name", "agent", "model", "base_url", "provider", "seed", "model_revision", "revision"}
NOT_IDENTITY |= {"quantization", "api_key_env", "prices"}
SHOW_MISSING = 10


class LeaderboardError(ValueError):
    """The runs cannot make a leaderboard as asked (one line: what and what to do)."""


def installed_benchmark_version() -> str | None:
    """The installed official asibench package's version, or None."""
    try:
        return version("asibench")
    except PackageNotFoundError:
        return None


@dataclass
class RunData:
    """One run folder as read: its metadata, its episodes (latest attempt each) and its result files."""

    path: Path
    metadata: dict[str, Any]
    episodes: pa.Table
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Result documents by episode key (see :func:`episode_keys`)."""
    has_parquet: bool = True
    only_in_results: list[str] = field(default_factory=list)
    only_in_parquet: list[str] = field(default_factory=list)
    mixed: bool = False

    @property
    def package_version(self) -> str | None:
        return self.metadata.get("framework_version")

    @property
    def benchmark_version(self) -> str | None:
        return (self.metadata.get("dependencies") or {}).get("asibench")

    @property
    def task_set(self) -> str | None:
        hashes = self.metadata.get("task_hashes") or {}
        return task_set_sha256(hashes) if hashes else None


def episode_keys(table: pa.Table) -> pa.Array:
    """``task/level/seed=N`` (a generated instance) or ``task/level/<instance_id>`` (a downloaded one) per row."""
    seed_text = pc.binary_join_element_wise("seed=", pc.cast(table["seed"], pa.string()), "")
    which = pc.if_else(pc.is_null(table["seed"]), table["instance_id"], seed_text)
    return pc.binary_join_element_wise(table["task_id"], table["prompt_level"], which, "/")


def instance_keys(table: pa.Table) -> pa.Array:
    """``task/seed=N`` or ``task/<instance_id>``: the instance an episode ran on, whatever its level."""
    seed_text = pc.binary_join_element_wise("seed=", pc.cast(table["seed"], pa.string()), "")
    which = pc.if_else(pc.is_null(table["seed"]), table["instance_id"], seed_text)
    return pc.binary_join_element_wise(table["task_id"], which, "/")


def planned_keys(metadata: dict[str, Any]) -> set[str]:
    """Episode keys a run planned: ``planned`` in run_metadata.json, else its tasks x levels x seeds."""
    planned = metadata.get("planned")
    if planned:
        return {
            f"{p['task_id']}/{p['level'].upper()}/"
            + (f"seed={p['seed']}" if p.get("seed") is not None else p["instance_id"])
            for p in planned
        }
    tasks = metadata.get("task_versions") or {}
    return {
        f"{t}/{lv.upper()}/seed={s}"
        for t in tasks
        for lv in metadata.get("levels", [])
        for s in metadata.get("seeds", [])
    }


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:SHOW_MISSING])
    return shown + (f" and {len(items) - SHOW_MISSING} more" if len(items) > SHOW_MISSING else "")


def _latest(table: pa.Table) -> pa.Table:
    """One row per episode key: the last finished attempt."""
    if table.num_rows == 0:
        return table
    table = table.sort_by([("finished_at", "ascending")])
    keys = episode_keys(table).to_numpy(zero_copy_only=False)
    _, first_from_end = np.unique(keys[::-1], return_index=True)
    keep = np.sort(keys.size - 1 - first_from_end)
    return table.take(pa.array(keep))


def _result_rows(docs: Sequence[dict[str, Any]], agent_config: dict[str, Any]) -> pa.Table:
    schema = pa.schema([EPISODES_SCHEMA.field(c) for c in COLUMNS])
    rows = []
    for doc in docs:
        cost = doc.get("cost") or {}
        artifacts = (doc.get("agent_output") or {}).get("artifacts") or []
        rows.append(
            {
                "run_id": "results",
                "episode_id": f"{doc['instance_id']}__{doc['prompt_level']}",
                "task_id": doc["task_id"],
                "instance_id": doc["instance_id"],
                "prompt_level": str(doc["prompt_level"]).upper(),
                "seed": doc.get("seed"),
                "agent": doc.get("agent_name"),
                "agent_config_json": json.dumps((doc.get("provenance") or {}).get("agent_config") or agent_config),
                "status": doc.get("episode_status", "scored"),
                "final_score": doc.get("final_score"),
                "steps": doc.get("steps"),
                "wall_time_s": doc.get("execution_time_seconds"),
                "input_tokens": cost.get("input_tokens"),
                "output_tokens": cost.get("output_tokens"),
                "cost_usd": cost.get("estimated_cost_usd"),
                "finished_at": None,
                "artifacts": [{"path": a["path"], "size": a["size"], "sha256": a["sha256"]} for a in artifacts],
            }
        )
    return pa.Table.from_pylist(rows, schema=schema)


def read_run(path: Path) -> tuple[RunData, list[str]]:
    """Read one run folder; returns it and the warnings (a half-written run lists what is missing).

    Raises :class:`LeaderboardError` for a folder that is not a run.
    """
    path = Path(path)
    meta_path = path / "run_metadata.json"
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LeaderboardError(
            f"{path} has no run_metadata.json; give folders that `asibench-env run --out` wrote"
        ) from exc
    except (OSError, ValueError) as exc:
        raise LeaderboardError(f"{meta_path} cannot be read ({exc}); fix or remove that run folder") from exc
    warnings: list[str] = []
    schema = pa.schema([EPISODES_SCHEMA.field(c) for c in COLUMNS])
    has_parquet = (path / "trajectories" / "episodes").is_dir()
    table = _latest(load(path, "episodes").to_table(columns=COLUMNS)) if has_parquet else schema.empty_table()
    docs: dict[str, dict[str, Any]] = {}
    for result_path in sorted((path / "results").glob("*.json")):
        try:
            doc = json.loads(result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            warnings.append(f"{path}: unreadable result file {result_path.name} skipped")
            continue
        seed = doc.get("seed")
        which = f"seed={seed}" if seed is not None else doc["instance_id"]
        docs[f"{doc['task_id']}/{str(doc['prompt_level']).upper()}/{which}"] = doc
    parquet_keys = episode_keys(table).to_pylist() if table.num_rows else []
    only_results = sorted(set(docs) - set(parquet_keys))
    only_parquet = (
        sorted(set(parquet_keys) - set(docs)) if docs or (path / "results").is_dir() else sorted(parquet_keys)
    )
    if only_results:
        what = (
            "no trajectories/episodes"
            if not has_parquet
            else f"{len(only_results)} result file(s) without a Parquet episode"
        )
        warnings.append(f"{path}: half-written run: {what} ({_listing(only_results)}); read from the result files")
        extra = _result_rows([docs[k] for k in only_results], metadata.get("agent") or {})
        table = pa.concat_tables([table, extra])
    if only_parquet:
        warnings.append(
            f"{path}: half-written run: {len(only_parquet)} Parquet episode(s) without a result file "
            f"({_listing(only_parquet)})"
        )
    run = RunData(path, metadata, table, docs, has_parquet, only_results, only_parquet)
    return run, warnings


def configuration(agent: str | None, config: dict[str, Any]) -> Configuration:
    """The identity of an agent configuration from its name and its recorded settings."""
    base_url = config.get("base_url")
    host = urlparse(str(base_url)).hostname if base_url else None
    options = config.get("options")
    sampling = {k: v for k, v in sorted(config.items()) if k not in NOT_IDENTITY and v is not None}
    if isinstance(options, dict) and not options:
        sampling.pop("options", None)
    return Configuration(
        agent=agent or config.get("name") or "unknown",
        model=config.get("model"),
        provider=config.get("provider") or (config.get("agent") if config.get("model") else None),
        base_url_host=host,
        model_revision=config.get("model_revision") or config.get("revision"),
        quantization=config.get("quantization"),
        sampling=sampling,
    )


def config_id(conf: Configuration) -> str:
    """12 hex characters of SHA-256 over the configuration's JSON."""
    return hashlib.sha256(conf.model_dump_json().encode()).hexdigest()[:12]


def display_name(conf: Configuration) -> str:
    """``agent``, ``agent/model`` or ``agent/model@host``."""
    name = conf.agent + (f"/{conf.model}" if conf.model else "")
    return name + (f"@{conf.base_url_host}" if conf.base_url_host else "")


@dataclass
class _Frame:
    """All runs' episodes as numpy arrays, one entry per episode."""

    run: np.ndarray
    config: np.ndarray
    key: np.ndarray
    task: np.ndarray
    instance: np.ndarray
    level: np.ndarray
    counted: np.ndarray
    score: np.ndarray
    status: np.ndarray
    task_names: list[str]
    level_names: list[str]
    table: pa.Table


def _codes(array: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    encoded = pc.dictionary_encode(array)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def _frame(runs: list[RunData]) -> tuple[_Frame, dict[str, Configuration]]:
    tables = [
        r.episodes.append_column("run_index", pa.array(np.full(r.episodes.num_rows, i, dtype=np.int64)))
        for i, r in enumerate(runs)
    ]
    table = pa.concat_tables(tables)
    # configurations: parse each distinct (agent, settings) pair once
    agent_cfg = pc.binary_join_element_wise(
        pc.fill_null(table["agent"], ""), pc.fill_null(table["agent_config_json"], ""), "\x1f"
    )
    pair_codes, pairs = _codes(agent_cfg)
    run_index = table["run_index"].to_numpy()
    first_run = np.zeros(len(pairs), dtype=np.int64)
    first_run[pair_codes[::-1]] = run_index[::-1]
    confs: dict[str, Configuration] = {}
    pair_config = []
    for i, pair in enumerate(pairs):
        agent, _, text = pair.partition("\x1f")
        settings = json.loads(text) if text else runs[first_run[i]].metadata.get("agent") or {}
        conf = configuration(agent or None, settings)
        cid = config_id(conf)
        confs[cid] = conf
        pair_config.append(cid)
    config = np.asarray(pair_config, dtype=object)[pair_codes] if pairs else np.empty(0, dtype=object)
    status = table["status"].to_numpy(zero_copy_only=False)
    counted = np.isin(status, COUNTED)
    score = pc.fill_null(table["final_score"], 0.0).to_numpy(zero_copy_only=False).astype(np.float64)
    counted &= ~(np.asarray(status == "scored") & pc.is_null(table["final_score"]).to_numpy(zero_copy_only=False))
    task, task_names = _codes(table["task_id"])
    instance, _ = _codes(instance_keys(table))
    level, level_names = _codes(table["prompt_level"])
    frame = _Frame(
        run=run_index,
        config=config,
        key=episode_keys(table).to_numpy(zero_copy_only=False),
        task=task,
        instance=instance,
        level=level,
        counted=counted,
        score=score,
        status=status,
        task_names=task_names,
        level_names=level_names,
        table=table,
    )
    return frame, confs


def _refuse_duplicates(frame: _Frame, runs: list[RunData], confs: dict[str, Configuration]) -> None:
    combined = frame.config.astype(str) + "\x1f" + frame.key.astype(str)
    uniq, first, counts = np.unique(combined, return_index=True, return_counts=True)
    if np.all(counts == 1):
        return
    dup = uniq[counts > 1][0]
    where = np.flatnonzero(combined == dup)
    paths = sorted({str(runs[frame.run[i]].path) for i in where})
    cid, key = str(dup).split("\x1f", 1)
    raise LeaderboardError(
        f"duplicate episode {key} of {display_name(confs[cid])} in {' and '.join(paths)}; "
        "a configuration's runs must not repeat an instance and level: leave one of the runs out"
    )


def _estimate(frame: _Frame, mask: np.ndarray, rng_key: str, seed: int, resamples: int) -> Estimate:
    task, inst, scores = frame.task[mask], frame.instance[mask], frame.score[mask]
    mean = hierarchical_mean(task, inst, scores)
    ci = hierarchical_interval(task, inst, scores, row_rng(seed, rng_key), resamples)
    return Estimate(
        mean=None if mean is None else round(mean, 4),
        ci95=None if ci is None else Interval(low=round(ci[0], 4), high=round(ci[1], 4)),
        episodes=int(mask.sum()),
    )


def _mean_of(column: pa.ChunkedArray, mask: np.ndarray) -> float | None:
    values = column.take(pa.array(np.flatnonzero(mask))) if mask.any() else None
    if values is None or values.null_count == len(values):
        return None
    result = pc.mean(values).as_py()
    return None if result is None else round(float(result), 4)


def _check_versions(run: RunData, allow_mixed: bool) -> str | None:
    here = (__version__, installed_benchmark_version())
    there = (run.package_version, run.benchmark_version)
    if there == here:
        return None
    what = (
        f"{run.path} was written by asibench-env {there[0]} (asibench {there[1]}); "
        f"this is {here[0]} (asibench {here[1]})"
    )
    if not allow_mixed:
        raise LeaderboardError(f"{what}; pass --allow-mixed to compare it anyway (its row is marked mixed)")
    run.mixed = True
    return f"{what}: admitted with --allow-mixed"


def build_leaderboard(
    run_dirs: Sequence[Path],
    *,
    registry: TaskRegistry | None = None,
    allow_partial: bool = False,
    allow_mixed: bool = False,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    check_integrity: bool = True,
) -> Leaderboard:
    """The leaderboard of the given run folders (see docs/leaderboard.md for every rule).

    Raises :class:`LeaderboardError` (one line) for a folder that is not a run, a run of another version
    without ``allow_mixed``, a duplicate episode within one configuration, or no common coverage.
    ``check_integrity=False`` skips re-hashing the persisted outputs (trust then cannot reach community).
    """
    if not run_dirs:
        raise LeaderboardError("give at least one run folder")
    registry = registry if registry is not None else TaskRegistry()
    warnings: list[str] = []
    runs: list[RunData] = []
    for run_dir in run_dirs:
        run, run_warnings = read_run(Path(run_dir))
        mixed = _check_versions(run, allow_mixed)
        warnings += run_warnings + ([mixed] if mixed else [])
        runs.append(run)
    for message in warnings:
        logger.warning("%s", message)
    frame, confs = _frame(runs)
    _refuse_duplicates(frame, runs, confs)
    config_ids = sorted(set(frame.config.tolist()))
    counted_keys = {cid: set(frame.key[(frame.config == cid) & frame.counted].tolist()) for cid in config_ids}
    compare = frame.counted.copy()
    common: set[str] | None = None
    if not allow_partial and len(config_ids) > 1:
        common = set.intersection(*counted_keys.values())
        if not common:
            raise LeaderboardError(
                "the configurations share no counted episode; pass --allow-partial to compare each on its own episodes"
            )
        in_common = pc.is_in(pa.array(frame.key, type=pa.string()), value_set=pa.array(sorted(common), pa.string()))
        compare &= in_common.to_numpy(zero_copy_only=False)
    union = set().union(*counted_keys.values())
    domains_of = {name: _domain(registry, name) for name in frame.task_names}
    task_domain = np.asarray([domains_of[n] for n in frame.task_names], dtype=object)
    episode_domain = task_domain[frame.task] if frame.task.size else np.empty(0, dtype=object)
    evidence = {i: run_evidence(run, registry, check_integrity=check_integrity) for i, run in enumerate(runs)}
    rows = [
        _row(cid, confs[cid], frame, runs, evidence, compare, union, episode_domain, allow_partial, seed, resamples)
        for cid in config_ids
    ]
    rows.sort(key=lambda r: (r.overall.mean is None, -(r.overall.mean or 0.0), r.name))
    for rank, row in enumerate(rows, start=1):
        row.rank = rank if row.overall.mean is not None else None
    return Leaderboard(
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        generator_version=__version__,
        seed=seed,
        resamples=resamples,
        compared_on="own" if allow_partial or common is None else "common",
        common_episodes=None if common is None else len(common),
        allow_mixed=allow_mixed,
        levels=sorted(frame.level_names),
        domains=sorted(set(domains_of.values())),
        rows=rows,
        warnings=warnings,
    )


def _domain(registry: TaskRegistry, task_id: str) -> str:
    return registry.get(task_id).meta.domain if task_id in registry else task_id.split(".", 1)[0]


def _row(
    cid: str,
    conf: Configuration,
    frame: _Frame,
    runs: list[RunData],
    evidence: dict[int, RunEvidence],
    compare: np.ndarray,
    union: set[str],
    episode_domain: np.ndarray,
    allow_partial: bool,
    seed: int,
    resamples: int,
) -> Row:
    mine = frame.config == cid
    use = mine & compare
    overall = _estimate(frame, use, f"{cid}/overall", seed, resamples)
    levels = {
        name: _estimate(frame, use & (frame.level == code), f"{cid}/{name}", seed, resamples)
        for code, name in sorted(enumerate(frame.level_names), key=lambda item: item[1])
        if (mine & (frame.level == code)).any()
    }
    domains = {
        name: _estimate(frame, use & (episode_domain == name), f"{cid}/domain/{name}", seed, resamples)
        for name in sorted(set(episode_domain[mine].tolist()))
    }
    run_indices = sorted(set(frame.run[mine].tolist()))
    sources = []
    for i in run_indices:
        run_mask = mine & frame.counted & (frame.run == i)  # a run's own episodes, for reproduction
        est = _estimate(frame, run_mask, f"{cid}/run/{i}", seed, resamples)
        ids = sorted(set(pc.unique(runs[i].episodes["run_id"]).to_pylist()) - {"results"})
        sources.append(
            RunSource(
                path=str(runs[i].path),
                run_ids=ids,
                package_version=runs[i].package_version,
                benchmark_version=runs[i].benchmark_version,
                task_set_sha256=runs[i].task_set,
                mean=est.mean,
                ci95=est.ci95,
                episodes=est.episodes,
            )
        )
    planned: set[str] = set()
    for i in run_indices:
        planned |= planned_keys(runs[i].metadata)
    own_keys = set(frame.key[mine & frame.counted].tolist())
    missing = sorted(planned - own_keys)
    planned_tasks = {k.split("/", 1)[0] for k in planned}
    counted_tasks = {k.split("/", 1)[0] for k in own_keys}
    table = frame.table
    times = table["finished_at"].take(pa.array(np.flatnonzero(use))) if use.any() else None
    first = pc.min(times).as_py() if times is not None else None
    last = pc.max(times).as_py() if times is not None else None
    tokens = pc.add(table["input_tokens"], table["output_tokens"])
    status = frame.status[mine]
    partial = allow_partial and (bool(missing) or len(own_keys) < len(union))
    label, reasons = assess_row([runs[i] for i in run_indices], [evidence[i] for i in run_indices], sources)
    return Row(
        rank=None,
        config_id=cid,
        name=display_name(conf),
        configuration=conf,
        overall=overall,
        levels=levels,
        domains=domains,
        coverage=Coverage(
            tasks_counted=len(counted_tasks),
            tasks_planned=len(planned_tasks),
            instances_counted=int(np.unique(frame.instance[mine & frame.counted]).size),
            episodes_counted=len(own_keys),
            episodes_planned=len(planned),
            missing_tasks=sorted(planned_tasks - counted_tasks),
            missing_episodes=missing,
        ),
        partial=partial,
        mixed=any(runs[i].mixed for i in run_indices),
        package_versions=sorted({s.package_version for s in sources if s.package_version}),
        benchmark_versions=sorted({s.benchmark_version for s in sources if s.benchmark_version}),
        task_set_sha256=sorted({s.task_set_sha256 for s in sources if s.task_set_sha256}),
        evaluated_from=first.isoformat() if first else None,
        evaluated_to=last.isoformat() if last else None,
        mean_cost_usd=_mean_of(table["cost_usd"], use),
        mean_tokens=_mean_of(tokens, use),
        mean_steps=_mean_of(table["steps"], use),
        mean_wall_time_s=_mean_of(table["wall_time_s"], use),
        infra_errors=int((status == "infra_error").sum()),
        produced=int((status == "produced").sum()),
        agent_errors=int((status == "agent_error").sum()),
        trust=label,
        trust_reasons=reasons,
        runs=sources,
    )
