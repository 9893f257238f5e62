"""Model judges: the operator's judge setting and the official judge scorers run under it.

Scorers of type ``llm_judge``, ``agent_judge`` and ``multimodal`` call a model. They run through the
official scorer registry (:mod:`ai4sci_bench.scorers`), with the official runtime override
(:class:`ai4sci_bench.core.judge_api.JudgeAPIOverride`) set for the call by
:func:`~ai4sci_bench.core.judge_api.use_judge_api_override`. :class:`JudgeSettings` holds only public
values: the API key stays in the environment variable it names, read when scoring starts and handed
to the scoring child process with the request (:class:`JudgeRequest`), never written anywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from asibench_env.rewards.custom import run_official_scorer
from asibench_env.rewards.results import ScorerResult
from asibench_env.rewards.scorers import JUDGE_SCORERS
from asibench_env.tasks.runnability import evaluation_scorer_names

JUDGE_TIMEOUT_S = 900.0
"""The scoring time limit when a configured judge scores an episode (judges retry with back-off)."""

JUDGE_OPTIONS_HINT = "--judge-base-url URL --judge-api-key-env VAR [--judge-model NAME]"

MODEL_JUDGES = frozenset({"llm_judge", "multimodal"})
"""The judge scorers that call a model through litellm, and so the configured endpoint and model. The
official ``agent_judge`` runs an agent CLI (codex, claude) named by the task instead."""

_OPTION_OF_FIELD = {"base_url": "--judge-base-url", "api_key_env": "--judge-api-key-env"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class JudgeConfigError(ValueError):
    """A judge setting that is incomplete or invalid, or whose key variable is unset; the message is one line."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option
        """The command-line option to change, when one is to blame."""


def no_judge_message(scorer: str) -> str:
    """What a judge scorer reports when no judge is configured: it scores 0, and how to configure one."""
    return (
        f"scorer {scorer} needs a model judge and none is configured, so it scores 0; configure one with "
        f"{JUDGE_OPTIONS_HINT} (asibench-env run) or AsiBenchEnv(judge=JudgeSettings(...))"
    )


def needs_judge(evaluation: Mapping[str, Any]) -> bool:
    """Whether a task's evaluation has a gate or scorer (composite parts included) that calls a model judge."""
    return any(name in JUDGE_SCORERS for name in evaluation_scorer_names(evaluation))


class JudgeSettings(BaseModel):
    """Where model judges are served: an OpenAI-compatible (or native) endpoint and the variable holding its key.

    ``model`` replaces the judge model a task's evaluation names (None keeps the task's). The key itself
    is never held here: :meth:`read_key` reads it from ``api_key_env`` when scoring starts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    api_key_env: str
    model: str | None = None
    protocol: Literal["openai", "native"] = "openai"

    @field_validator("base_url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        from ai4sci_bench.core.judge_api import JudgeAPIConfigurationError, validate_judge_api_base

        try:
            return validate_judge_api_base(value.strip())
        except JudgeAPIConfigurationError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("api_key_env")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _ENV_NAME.fullmatch(value.strip()):
            raise ValueError("give the name of an environment variable (e.g. JUDGE_API_KEY), never the key itself")
        return value.strip()

    @field_validator("model")
    @classmethod
    def _valid_model(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("the judge model name is empty")
        return value.strip() if value else None

    @classmethod
    def from_options(
        cls,
        base_url: str | None,
        api_key_env: str | None,
        model: str | None = None,
        protocol: str = "openai",
        *,
        environ: Mapping[str, str] | None = None,
    ) -> JudgeSettings | None:
        """The setting the command-line options describe, checked now (the key variable included); None for none.

        Raises:
            JudgeConfigError: an incomplete or invalid setting, or an unset key variable (one line, with
                the option to change in ``option``).
        """
        if base_url is None and api_key_env is None and model is None:
            return None
        if base_url is None:
            given = "--judge-api-key-env" if api_key_env is not None else "--judge-model"
            raise JudgeConfigError(f"{given} needs --judge-base-url URL (the judge's endpoint)", "--judge-base-url")
        if api_key_env is None:
            raise JudgeConfigError(
                "--judge-base-url needs --judge-api-key-env VAR (the variable holding the judge's API key)",
                "--judge-api-key-env",
            )
        try:
            settings = cls(base_url=base_url, api_key_env=api_key_env, model=model, protocol=protocol)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error["loc"] else "base_url"
            option = {"base_url": "--judge-base-url", "api_key_env": "--judge-api-key-env"}.get(
                field, f"--judge-{field}"
            )
            message = str(error["msg"]).removeprefix("Value error, ")
            raise JudgeConfigError(f"{option}: {message}", option) from None
        settings.read_key(environ)
        return settings

    def read_key(self, environ: Mapping[str, str] | None = None) -> str:
        """The API key, read from ``api_key_env`` now. Raises :class:`JudgeConfigError` when it is unset or empty."""
        value = (os.environ if environ is None else environ).get(self.api_key_env, "")
        if not value.strip():
            raise JudgeConfigError(
                f"the judge's API key variable {self.api_key_env} is unset or empty; export it or change "
                "--judge-api-key-env",
                "--judge-api-key-env",
            )
        return value

    def public(self) -> dict[str, Any]:
        """The settings for run_metadata.json and logs (the key variable's name, never the key)."""
        return self.model_dump()

    def override(self) -> Any:
        """The official :class:`~ai4sci_bench.core.judge_api.JudgeAPIOverride` for these settings."""
        from ai4sci_bench.core.judge_api import JudgeAPIOverride

        return JudgeAPIOverride(api_base=self.base_url, api_key_env=self.api_key_env, api_protocol=self.protocol)


class JudgeRequest(BaseModel):
    """The judge setting as it travels with one scoring request to the scoring child: settings and key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    settings: JudgeSettings
    api_key: SecretStr

    @classmethod
    def for_scoring(cls, settings: JudgeSettings) -> JudgeRequest:
        """Read the key now. Raises :class:`JudgeConfigError` when its variable is unset."""
        return cls(settings=settings, api_key=SecretStr(settings.read_key()))

    def payload(self) -> dict[str, Any]:
        """The JSON form for the scoring worker's pipe (the only place the key is written out)."""
        return {"settings": self.settings.public(), "api_key": self.api_key.get_secret_value()}

    @contextmanager
    def active(self) -> Iterator[None]:
        """The official override in effect, with the key in its variable, for the duration (restored after)."""
        from ai4sci_bench.core.judge_api import use_judge_api_override

        name = self.settings.api_key_env
        before = os.environ.get(name)
        os.environ[name] = self.api_key.get_secret_value()
        try:
            with use_judge_api_override(self.settings.override()):
                yield
        finally:
            if before is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = before


def official_judge_scorers() -> dict[str, type]:
    """The official judge scorer classes by name, from the official registry.

    Importing :mod:`ai4sci_bench.scorers` registers every official scorer; the registry is put back as
    it was plus the judge scorers, so task scorers that delegate to ``numerical`` and the like keep
    getting the native implementations (see :mod:`asibench_env.rewards.custom`).
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # the scorer never fetches price tables
    from ai4sci_bench.core import scorer as official

    registry = official._SCORER_REGISTRY  # noqa: SLF001 - the registry is the official contract
    before = dict(registry)
    import ai4sci_bench.scorers  # noqa: F401 - registers the official scorers

    judges = {name: registry[name] for name in JUDGE_SCORERS if name in registry}
    registry.clear()
    registry.update(before)
    registry.update(judges)
    return judges


def _usage(details: Mapping[str, Any]) -> dict[str, Any]:
    raw = details.get("judge_cost")
    cost: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    dollars = next((cost[k] for k in ("cost_usd", "total_cost_usd", "estimated_cost_usd") if k in cost), None)
    return {
        "calls": int(cost.get("num_invocations", 0) or 0),
        "input_tokens": int(cost.get("input_tokens", 0) or 0),
        "output_tokens": int(cost.get("output_tokens", 0) or 0),
        "cost_usd": float(dollars) if isinstance(dollars, int | float) else None,
    }


def run_judge_scorer(
    name: str, pred_dir: Any, ref_dir: Any, config: dict[str, Any], judge: JudgeRequest
) -> ScorerResult:
    """Run the official judge scorer ``name`` under ``judge``; its usage goes into ``details["judge_usage"]``.

    The official result is kept as it is (an unparseable reply gets the official parser's verdict; an
    unreachable judge the official "evaluator unavailable" result, see :func:`judge_unavailable`).
    """
    classes = official_judge_scorers()
    if name not in classes:
        raise LookupError(f"the installed asibench has no {name} scorer")
    config = dict(config)
    if judge.settings.model is not None and name in MODEL_JUDGES:
        config["model"] = judge.settings.model
    with judge.active():
        result = run_official_scorer(classes[name], pred_dir, ref_dir, config)
    details = {**result.details, "judge_usage": _usage(result.details)}
    return result.model_copy(update={"details": details})


def judge_unavailable(result: ScorerResult | Mapping[str, Any]) -> str | None:
    """Why the judge behind a scorer result (composite parts included) could not be reached; None when it could.

    The official model judges mark that case with ``failure_kind: evaluator_unavailable`` (and
    ``evaluator_unavailable: true``) in the result's details. The official ``agent_judge`` marks each
    run of its agent CLI in ``score_sources``; when every run failed to start or crashed (``error``),
    no judge looked at the outputs, and that is reported here too.
    """
    data = result.model_dump() if isinstance(result, ScorerResult) else result
    details = data.get("details") or {}
    name = data.get("scorer_name") or data.get("scorer")
    if details.get("failure_kind") == "evaluator_unavailable" or details.get("evaluator_unavailable") is True:
        return f"{name}: {details.get('error') or data.get('message')}"
    sources = details.get("score_sources")
    if name == "agent_judge" and isinstance(sources, list) and sources and all(s == "error" for s in sources):
        first = (details.get("raw_responses") or [data.get("message")])[0]
        return f"agent_judge: its agent CLI could not run: {first}"
    for part in details.get("sub_results") or []:
        if isinstance(part, Mapping) and (reason := judge_unavailable(part)):
            return reason
    return None


def judge_totals(results: list[ScorerResult]) -> dict[str, Any]:
    """Judge calls, tokens and dollars summed over scorer results (None where no judge ran or none reported)."""
    usages = []
    stack: list[Mapping[str, Any]] = [r.details for r in results]
    while stack:
        details = stack.pop()
        if isinstance(details.get("judge_usage"), Mapping):
            usages.append(details["judge_usage"])
        stack.extend(p.get("details") or {} for p in details.get("sub_results") or [] if isinstance(p, Mapping))
    if not usages:
        return {"judge_calls": None, "judge_input_tokens": None, "judge_output_tokens": None, "judge_cost_usd": None}
    costs = [u["cost_usd"] for u in usages if u.get("cost_usd") is not None]
    return {
        "judge_calls": sum(int(u.get("calls", 0)) for u in usages),
        "judge_input_tokens": sum(int(u.get("input_tokens", 0)) for u in usages),
        "judge_output_tokens": sum(int(u.get("output_tokens", 0)) for u in usages),
        "judge_cost_usd": sum(costs) if costs else None,
    }
