"""Per-episode result files in the official ASI-Bench result schema (version 1)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

from asibench_env.atomic import write_json_atomic
from asibench_env.envs.episode import ArtifactRecord, EpisodeResult

logger = logging.getLogger(__name__)

RESULT_SCHEMA_VERSION = 1

# The official loader reads ``status`` as its run status (completed, failed, timeout, ...); our own
# episode status (scored, produced, agent_error, infra_error) travels in ``episode_status``. A produced
# episode ran to its end like an official produce-only run: ``completed``, with the unscored marker.
_OFFICIAL_STATUS = {"scored": "completed", "produced": "completed", "agent_error": "failed", "infra_error": "failed"}


def result_filename(instance_id: str, level: str, suffix: str = "") -> str:
    """``<instance_id>__<level><suffix>.json`` with the level lowercase, as the official runner names them.

    ``suffix`` tells apart several episodes of one instance and level (a rollout's ``__r003``).
    """
    return f"{instance_id}__{level.lower()}{suffix}.json"


def rollout_suffix(rollout_index: int) -> str:
    """The file-name suffix of a rollout's result (``__r003``): G rollouts of one instance and level, G files."""
    return f"__r{rollout_index:03d}"


def outputs_dirname(instance_id: str, level: str, suffix: str = "") -> str:
    """``<base>.outputs``: the folder beside ``<base>.json`` holding the episode's persisted outputs."""
    return f"{Path(result_filename(instance_id, level, suffix)).stem}.outputs"


def official_sandbox(sandbox: dict[str, Any]) -> dict[str, Any]:
    """The sandbox provenance of a result: ours, plus the official keys for a Docker sandbox.

    The official seed42 submission rules accept only results run in a container whose isolation is
    enforced (fail closed: the episode fails rather than run with less) and whose image is named; our
    Docker backend is that. Other backends keep our keys only (``backend``, ``level``, ...).
    """
    out = dict(sandbox)
    details = sandbox.get("details") or {}
    if sandbox.get("backend") == "docker" and sandbox.get("level") == "container":
        identity = details.get("image_digest") or details.get("image_id") or details.get("image")
        out.update(effective_mode="os", enforcement_status="fail_closed", verification_status="docker_container")
        if identity:
            out["image_identity"] = identity
    return out


def persisted_manifest(result: EpisodeResult, outputs_present: bool, suffix: str = "") -> dict[str, Any] | None:
    """``agent_output.persisted_outputs`` as the official runner writes it.

    ``{"dir": "<base>.outputs", "files": [{"path", "sha256", "bytes"} | {"path", "missing": true}]}``;
    ``dir`` is None when no declared output was kept; None (the key left out) when the episode
    collected nothing at all (an infrastructure failure before collection).
    """
    files: list[dict[str, Any]] = [{"path": a.path, "sha256": a.sha256, "bytes": a.size} for a in result.artifacts]
    files += [{"path": name, "missing": True} for name in result.missing_outputs]
    refused = result.refused_outputs.items()
    files += [{"path": name, "missing": True, "reason": f"refused: {why}"} for name, why in refused]
    if not files:
        return None
    has_dir = outputs_present and bool(result.artifacts)
    folder = outputs_dirname(result.instance_id, result.prompt_level, suffix)
    return {"dir": folder if has_dir else None, "files": files}


def result_document(
    result: EpisodeResult,
    agent_name: str,
    attempt: int = 1,
    agent_config: dict[str, Any] | None = None,
    *,
    outputs_present: bool = False,
    suffix: str = "",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON document for one episode (``outputs_present``: its outputs folder is beside it).

    ``suffix`` is the file name's (see :func:`result_filename`); ``extra`` adds top-level sections
    (a rollout's ``rollout`` section) after the official ones.
    """
    agent_output: dict[str, Any] = {
        "code_files": [a.path for a in result.artifacts if a.path.endswith(".py")],
        "data_files": [a.path for a in result.artifacts if not a.path.endswith(".py")],
        "artifacts": [a.model_dump() for a in result.artifacts],
        "refused_outputs": result.refused_outputs,
        "missing_outputs": result.missing_outputs,
        "log": "",
        "error_message": result.error,
        "status": _OFFICIAL_STATUS[result.status],
    }
    manifest = persisted_manifest(result, outputs_present, suffix)
    if manifest is not None:
        agent_output["persisted_outputs"] = manifest
    return {
        "result_schema_version": RESULT_SCHEMA_VERSION,
        "instance_id": result.instance_id,
        "task_id": result.task_id,
        "task_version": result.task_version,
        "attempt": attempt,
        "prompt_level": result.prompt_level.lower(),
        "agent_name": agent_name,
        "parameters": result.parameters,
        "seed": result.seed,
        "gates_passed": result.gates_passed,
        "hard_gates_passed": result.hard_gates_passed,
        "soft_gate_failures": result.soft_gate_failures,
        "gate_results": result.gate_results,
        "score_results": result.score_results if result.final_score is not None else [_unscored(result)],
        "final_score": result.final_score,
        "max_possible_score": result.max_possible_score,
        "execution_time_seconds": round(result.wall_time_s, 6),
        "status": _OFFICIAL_STATUS[result.status],
        "episode_status": result.status,
        "end_reason": result.end_reason,
        "error": result.error,
        "score_error": result.score_error,
        "steps": result.steps,
        "cost": None
        if result.input_tokens is None
        else {
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
            "total_tokens": result.input_tokens + (result.output_tokens or 0),
            "estimated_cost_usd": result.cost_usd,
        },
        "judge_usage": None
        if result.judge_calls is None
        else {
            "calls": result.judge_calls,
            "input_tokens": result.judge_input_tokens,
            "output_tokens": result.judge_output_tokens,
            "estimated_cost_usd": result.judge_cost_usd,
        },
        "provenance": {
            "harness": "asibench-env",
            "sandbox": official_sandbox(result.sandbox),
            "agent_config": agent_config or {},
        },
        "agent_output": agent_output,
        **(extra or {}),
    }


def _unscored(result: EpisodeResult) -> dict[str, Any]:
    """The official marker for a result that must stay out of every mean (an infra error, a produced episode)."""
    return {
        "scorer_name": "unscored_submission",
        "score": 0.0,
        "max_score": result.max_possible_score,
        "passed": False,
        "details": {"unscored_submission": True, "episode_status": result.status, "reason": result.error},
        "message": f"not scored: {result.error}",
    }


def result_from_document(doc: dict[str, Any]) -> EpisodeResult:
    """An episode's result read back from its result file (the inverse of :func:`result_document`)."""
    agent_output = doc.get("agent_output") or {}
    cost = doc.get("cost") or {}
    unscored = doc.get("final_score") is None
    provenance = doc.get("provenance") or {}
    return EpisodeResult(
        task_id=doc["task_id"],
        task_version=doc.get("task_version") or "",
        instance_id=doc["instance_id"],
        prompt_level=str(doc["prompt_level"]).upper(),
        seed=doc.get("seed"),
        parameters=doc.get("parameters") or {},
        status=doc.get("episode_status", "scored"),
        end_reason=doc.get("end_reason") or "submit",
        final_score=doc.get("final_score"),
        max_possible_score=doc.get("max_possible_score", 100.0),
        gates_passed=bool(doc.get("gates_passed")),
        hard_gates_passed=bool(doc.get("hard_gates_passed")),
        soft_gate_failures=doc.get("soft_gate_failures") or 0,
        gate_results=doc.get("gate_results") or [],
        score_results=[] if unscored else doc.get("score_results") or [],
        score_error=doc.get("score_error"),
        error=doc.get("error"),
        steps=doc.get("steps") or 0,
        wall_time_s=doc.get("execution_time_seconds") or 0.0,
        artifacts=[ArtifactRecord(**a) for a in agent_output.get("artifacts") or []],
        refused_outputs=agent_output.get("refused_outputs") or {},
        missing_outputs=agent_output.get("missing_outputs") or [],
        sandbox={k: v for k, v in (provenance.get("sandbox") or {}).items()},
        input_tokens=cost.get("input_tokens"),
        output_tokens=cost.get("output_tokens"),
        cost_usd=cost.get("estimated_cost_usd"),
    )


class OutputsError(OSError):
    """A collected output is not the file the episode recorded (not a regular file, or other bytes)."""


def _sha256_fd(fd: int) -> str:
    digest = hashlib.sha256()
    while chunk := os.read(fd, 1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def _copy_regular(src: Path, dest: Path, expected: ArtifactRecord) -> None:
    """Copy one regular file without following links, checking its size and hash."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(src, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OutputsError(f"output {expected.path} is not a regular file")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.dup(fd), "rb") as source, open(dest, "xb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
    finally:
        os.close(fd)
    out = os.open(dest, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        size, digest = os.fstat(out).st_size, _sha256_fd(out)
    finally:
        os.close(out)
    if size != expected.size or digest != expected.sha256:
        raise OutputsError(f"output {expected.path} changed after collection (size or sha256 differs)")


def persist_outputs(results_dir: Path, result: EpisodeResult, source: Path, suffix: str = "") -> Path | None:
    """Copy the episode's collected outputs (``artifacts``, read from ``source``) to ``<base>.outputs``.

    The copy is built in a hidden folder beside it and renamed into place, replacing an older one, so a
    reader sees the old folder or the whole new one. Only the recorded files are copied, as regular
    files (no links followed) with the recorded size and sha256; a path that escapes the folder is
    refused. Returns the folder, or None when there was nothing to keep (an old folder is removed).

    Raises:
        OutputsError: a file is not a regular file or not the recorded bytes.
        OSError: the results folder cannot be written.
    """
    results_dir = Path(results_dir)
    final = results_dir / outputs_dirname(result.instance_id, result.prompt_level, suffix)
    if not result.artifacts:
        _remove_tree(final)
        return None
    results_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=results_dir))
    try:
        for artifact in result.artifacts:
            rel = Path(artifact.path)
            if rel.is_absolute() or ".." in rel.parts or not rel.parts:
                raise OutputsError(f"output path {artifact.path!r} escapes the outputs folder")
            _copy_regular(Path(source) / rel, staging / rel, artifact)
        old = None
        if final.exists() or final.is_symlink():
            old = results_dir / f".{final.name}.old-{os.getpid()}-{id(staging)}"
            os.rename(final, old)
        os.rename(staging, final)
        if old is not None:
            _remove_tree(old)
    except BaseException:
        _remove_tree(staging)
        raise
    return final


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def write_result(
    results_dir: Path,
    result: EpisodeResult,
    agent_name: str,
    attempt: int = 1,
    agent_config: dict[str, Any] | None = None,
    *,
    suffix: str = "",
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write one episode's result file (after its outputs folder) and return its path.

    ``suffix`` and ``extra`` are :func:`result_document`'s (several episodes of one instance and level).

    When ``result.outputs_dir`` holds the collected outputs they are persisted first (see
    :func:`persist_outputs`); otherwise an outputs folder already beside the result (a rebuilt or
    re-scored result) is kept and listed.
    """
    results_dir = Path(results_dir)
    if result.outputs_dir is not None and Path(result.outputs_dir).is_dir():
        try:
            persist_outputs(results_dir, result, Path(result.outputs_dir), suffix)
        except OSError as exc:  # OutputsError included: the episode cannot be trusted, nor scored later
            logger.error("persisting the outputs of %s failed: %s", result.instance_id, exc)
            result = result.model_copy(
                update={
                    "status": "infra_error",
                    "final_score": None,
                    "error": f"persisting outputs failed: {exc}",
                    "artifacts": [],
                }
            )
    outputs = results_dir / outputs_dirname(result.instance_id, result.prompt_level, suffix)
    present = outputs.is_dir() and not outputs.is_symlink()
    path = results_dir / result_filename(result.instance_id, result.prompt_level, suffix)
    document = result_document(
        result, agent_name, attempt, agent_config, outputs_present=present, suffix=suffix, extra=extra
    )
    write_json_atomic(path, document)
    return path
