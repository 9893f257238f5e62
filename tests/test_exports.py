"""Dataset exports (sft, dpo, kto, verl, skyrl) from real runs, loaded back with Hugging Face ``datasets``.

The runs are real batches of the demo task: the oracle, null and naive agents, and the OpenAI chat agent
(the real SDK) against scripted servers on 127.0.0.1, one of which answers 500 until the retries run out
(infra_error); a produce-only run (a private instance without reference files); and a copy of the oracle
run rewritten as schema version 2 files (no prompt, no tools: not rebuildable). SFT rows are rendered
through a real chat template with tool support (a tokenizer built here, nothing downloaded).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_model_server import FakeModelServer, tool_turn
from helpers import CLI, DEMO_SOLVE, cli_env
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from transformers import PreTrainedTokenizerFast

from asibench_env.agents.naive import NaiveAgent
from asibench_env.agents.null import NullAgent
from asibench_env.agents.openai_agent import OpenAIChatAgent
from asibench_env.agents.oracle import OracleAgent
from asibench_env.integrations.exports import (
    ExportError,
    InstanceRequest,
    dpo_rows,
    fresh_instances,
    kto_rows,
    sft_rows,
    skyrl_rows,
    verl_rows,
    write_dataset,
)
from asibench_env.integrations.exports.report import (
    SKIP_ALONE,
    SKIP_BELOW_MIN_SCORE,
    SKIP_DUPLICATE,
    SKIP_INFRA_ERROR,
    SKIP_NO_CONVERSATION,
    SKIP_UNSCORED,
)
from asibench_env.runs.batch import run_batch
from asibench_env.runs.runner import EpisodeSpec, plan_episodes
from asibench_env.tasks.instances import InstanceCache, sample_params
from asibench_env.tasks.registry import TaskRegistry
from asibench_env.trajectories import load
from asibench_env.trajectories.schema import EPISODES_SCHEMA, STEPS_SCHEMA

TASK = "demo.line_fit"
LEVELS = ["B1", "B2"]
SEEDS = [0, 1]
WRONG = (
    "import numpy as np, pathlib\n"
    "np.save('coef.npy', np.array([0.0, 0.0]))\n"
    "pathlib.Path('results').mkdir(exist_ok=True)\n"
    "pathlib.Path('results/fit.py').write_text('zeros')\n"
)
"""A wrong answer that still writes both files: file_match full, numerical 0."""

CHAT_TEMPLATE = """\
{%- if tools %}<tools>{% for tool in tools %}{{ tool | tojson }}
{% endfor %}</tools>
{% endif %}
{%- for message in messages %}<|{{ message.role }}|>
{%- if message.reasoning_content %}<think>{{ message.reasoning_content }}</think>{% endif %}
{%- if message.content %}{{ message.content }}{% endif %}
{%- if message.tool_calls %}{% for call in message.tool_calls %}<tool_call>{"name": "{{ call.function.name }}", \
"arguments": {{ call.function.arguments }}}</tool_call>{% endfor %}{% endif %}
{%- if message.role == "tool" %}[for {{ message.tool_call_id }}]{% endif %}<|end|>
{% endfor %}"""
"""A chat template in the common style: tools as JSON schemas, tool calls, tool results, reasoning."""


@pytest.fixture(autouse=True)
def openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


def _batch(
    out: Path, specs: list[EpisodeSpec], make_agent: Any, registry: TaskRegistry, cache: InstanceCache, **config: str
) -> Path:
    run_batch(
        specs,
        make_agent,
        out,
        registry=registry,
        show_progress=False,
        env_kwargs={"instance_cache": cache},
        agent_config={"name": "scripted", **config},
    )
    return out


class BrokenAgent:
    """Lists the workspace, then raises: an agent_error (scored 0), the agent's own failure."""

    name = "broken"

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.acted = False

    def act(self, observation: str, info: dict[str, Any]) -> dict[str, Any]:
        if self.acted:
            raise RuntimeError("the agent broke")
        self.acted = True
        return {"tool": "list_files", "arguments": {}}

    def end(self, reward: float, info: dict[str, Any]) -> None:
        pass


def _openai(server: FakeModelServer) -> OpenAIChatAgent:
    return OpenAIChatAgent("scripted-model", base_url=server.base_url, max_retries=1, timeout_s=10, require_price=False)


def _solving_turns() -> list[dict]:
    first = tool_turn("list_files", {"path": "data"}, "call_a")
    message = first["choices"][0]["message"]
    message["content"] = "Let me look at the data."
    message["reasoning_content"] = "A straight line: polyfit of degree 1."
    message["tool_calls"].append(
        {"id": "call_b", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "prompt.md"}'}}
    )
    return [first, tool_turn("python", {"code": DEMO_SOLVE}, "call_c"), tool_turn("submit", {}, "call_d")]


def _as_schema_2(src: Path, dest: Path) -> Path:
    """A copy of a run whose trajectory files are of schema version 2 (new episode ids, no schema 3 columns)."""
    shutil.copytree(src, dest)
    new = {"episodes": EPISODES_SCHEMA, "steps": STEPS_SCHEMA}
    added = {"prompt", "system_prompt", "tools_json", "tool_format", "message_format", "turn_id", "tool_call_id"}
    added |= {"request_messages_json", "request_full", "assistant_message_json", "assistant_text", "reasoning"}
    for table, schema in new.items():
        for path in (dest / "trajectories" / table).rglob("*.parquet"):
            data = pq.read_table(path)
            keep = [name for name in data.column_names if name not in added]
            data = data.select(keep).set_column(
                keep.index("episode_id"), "episode_id", pa.array([f"v2-{e}" for e in data["episode_id"].to_pylist()])
            )
            assert set(keep) < set(schema.names)
            path.unlink()
            pq.write_table(
                data.replace_schema_metadata({b"asibench_env.schema_version": b"2"}), path.with_name(f"v2-{path.name}")
            )
    return dest


def _produced_run(root: Path, fixture_tasks_dir: Path) -> Path:
    """A run on a private instance (no reference/): its episode is produced, not scored."""
    tasks = root / "tasks"
    shutil.copytree(fixture_tasks_dir, tasks)
    task = TaskRegistry([tasks], include_builtin=False).get(TASK)
    generated, _ = InstanceCache(root / "cache").get(task, sample_params(task, 0))
    private = root / "private" / f"{TASK}__seed42"
    shutil.copytree(generated.path, private)
    shutil.rmtree(private / "reference")
    registry = TaskRegistry([tasks], [private.parent], include_builtin=False)
    out = root / "produced"
    run_batch(
        plan_episodes([TASK], ["B1"], [0]),
        lambda: OracleAgent(registry),
        out,
        registry=registry,
        show_progress=False,
        agent_config={"name": "oracle"},
    )
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, fixture_tasks_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("exports")
    registry = TaskRegistry([fixture_tasks_dir])
    cache = InstanceCache(root / "cache")
    specs = plan_episodes([TASK], LEVELS, SEEDS)
    out = {
        "oracle": _batch(root / "oracle", specs, lambda: OracleAgent(registry), registry, cache),
        "null": _batch(root / "null", specs, NullAgent, registry, cache),
        "naive": _batch(root / "naive", specs, lambda: NaiveAgent("mean", registry), registry, cache),
        "broken": _batch(root / "broken", [EpisodeSpec(TASK, "B1", 0)], BrokenAgent, registry, cache),
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_API_KEY", "test-key")
        # B1 seed 0 solved (two tool calls in one turn, with reasoning), then B2 seed 0: HTTP 500 until the
        # SDK's and the batch's retries run out (infra_error, twice).
        with FakeModelServer(_solving_turns()) as server:
            out["openai_a"] = _batch(
                root / "openai_a",
                [EpisodeSpec(TASK, "B1", 0), EpisodeSpec(TASK, "B2", 0)],
                lambda: _openai(server),
                registry,
                cache,
                model="scripted-model",
            )
        wrong = [tool_turn("python", {"code": WRONG}, "call_w"), tool_turn("submit", {}, "call_s")]
        with FakeModelServer(wrong) as server:
            out["openai_b"] = _batch(
                root / "openai_b",
                [EpisodeSpec(TASK, "B1", 0)],
                lambda: _openai(server),
                registry,
                cache,
                model="scripted-model",
            )
    out["schema2"] = _as_schema_2(out["oracle"], root / "schema2")
    out["produced"] = _produced_run(root, fixture_tasks_dir)
    return out


def _episodes(run: Path) -> list[dict]:
    return load(run, "episodes").to_table().to_pylist()


def _load(path: Path, tmp_path: Path) -> datasets.Dataset:
    kind = "json" if path.suffix == ".jsonl" else "parquet"
    return datasets.load_dataset(kind, data_files=str(path), split="train", cache_dir=str(tmp_path / "hf"))


def _tokenizer() -> PreTrainedTokenizerFast:
    model = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    model.pre_tokenizer = Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=model, unk_token="[UNK]", chat_template=CHAT_TEMPLATE)


def _without_none(value: Any) -> Any:
    """What TRL does to rows loaded from Arrow before templating: drop the None fields of each message."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


@pytest.mark.slow
def test_the_runs_hold_what_the_exports_filter(runs):
    statuses = [e["status"] for e in _episodes(runs["openai_a"])]
    assert sorted(statuses) == ["infra_error", "infra_error", "scored"]
    assert [e["status"] for e in _episodes(runs["produced"])] == ["produced"]
    (wrong,) = _episodes(runs["openai_b"])
    assert wrong["status"] == "scored" and 0 < wrong["final_score"] < 100
    assert {e["final_score"] for e in _episodes(runs["oracle"])} == {100.0}
    assert all(e["prompt"] is None for e in _episodes(runs["schema2"]))
    assert [(e["status"], e["final_score"]) for e in _episodes(runs["broken"])] == [("agent_error", 0.0)]


@pytest.mark.slow
def test_sft_rows_load_with_datasets_and_render_through_a_chat_template(runs, tmp_path):
    rows, report = sft_rows(list(runs.values()), min_score=100, reasoning=True)
    assert report.episodes_read == sum(len(_episodes(run)) for run in runs.values())
    assert report.rows == len(rows) == 4 + 1  # the oracle's four episodes and the solved OpenAI one
    assert report.filtered[SKIP_INFRA_ERROR] == 2 and report.filtered[SKIP_UNSCORED] == 1
    assert report.filtered[SKIP_NO_CONVERSATION] == 4  # the schema 2 copy of the oracle run
    assert report.filtered["status is not scored"] == 1  # the broken agent's agent_error
    below = [e for r in ("null", "naive", "openai_b") for e in _episodes(runs[r]) if e["final_score"] < 100]
    assert report.filtered[SKIP_BELOW_MIN_SCORE] == len(below)

    path = write_dataset(rows, "sft", tmp_path / "sft.parquet")
    data = _load(path, tmp_path)
    assert data.num_rows == 5 and {"messages", "tools", "episode_id", "final_score", "agent"} <= set(data.column_names)
    tokenizer = _tokenizer()
    for row in data:
        tools = json.loads(row["tools"])
        messages = _without_none(row["messages"])
        assert {t["function"]["name"] for t in tools} == {
            "bash",
            "python",
            "read_file",
            "write_file",
            "list_files",
            "submit",
        }
        text = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False)
        assert '"name": "submit"' in text and text.count("<|tool|>") == sum(m["role"] == "tool" for m in messages)
        assert text.count("<tool_call>") == sum(len(m.get("tool_calls", [])) for m in messages)
        assert json.dumps(tools[0]) in text
        assert messages[-1]["tool_calls"][0]["function"]["name"] == "submit"
        assert tokenizer.apply_chat_template(messages, tools=tools, tokenize=True)  # token ids, through the template
    (model_row,) = [r for r in data if r["model"] == "scripted-model"]
    messages = _without_none(model_row["messages"])
    assert [m["role"] for m in messages[:4]] == ["system", "user", "assistant", "tool"]
    assert messages[2]["reasoning_content"] == "A straight line: polyfit of degree 1."
    assert [c["id"] for c in messages[2]["tool_calls"]] == ["call_a", "call_b"]
    assert messages[3]["tool_call_id"] == "call_a"
    text = tokenizer.apply_chat_template(messages, tools=json.loads(model_row["tools"]), tokenize=False)
    assert "<think>A straight line" in text and '"arguments": {"path": "data"}' in text

    plain, _ = sft_rows([runs["openai_a"]], min_score=100)
    assert all("reasoning_content" not in m for m in plain[0].record()["messages"])


@pytest.mark.slow
def test_tools_as_arrow_structs_would_gain_the_other_tools_properties(runs):
    """Why ``tools`` is a JSON string: as a list of structs, Arrow merges the tools' parameter objects."""
    rows, _ = sft_rows([runs["oracle"]])
    tools = json.loads(rows[0].tools)
    merged = datasets.Dataset.from_list([{"tools": tools}])[0]["tools"]
    submit = next(t for t in merged if t["function"]["name"] == "submit")
    assert "command" in submit["function"]["parameters"]["properties"]  # a property submit does not have
    assert json.loads(rows[0].tools) == tools


@pytest.mark.slow
def test_duplicates_are_dropped_the_same_folder_twice_and_a_replayed_episode(runs, tmp_path):
    resumed = tmp_path / "resumed"
    shutil.copytree(runs["oracle"], resumed)
    # A resumed run's repeated row: the same task, level and instance finished again under a new id.
    original = next((resumed / "trajectories" / "episodes").rglob("*.parquet"))
    episode = pq.read_table(original)
    steps_file = next((resumed / "trajectories" / "steps").rglob(original.name))
    replay = episode.set_column(episode.column_names.index("episode_id"), "episode_id", pa.array(["zz-replay"]))
    pq.write_table(replay, original.with_name("zz-replay.parquet"))
    steps = pq.read_table(steps_file)
    ids = pa.array(["zz-replay"] * steps.num_rows)
    pq.write_table(
        steps.set_column(steps.column_names.index("episode_id"), "episode_id", ids),
        steps_file.with_name("zz-replay.parquet"),
    )

    rows, report = sft_rows([runs["oracle"], runs["oracle"]])
    assert (report.episodes_read, report.filtered[SKIP_DUPLICATE], report.rows) == (8, 4, 4)
    rows, report = sft_rows([resumed])
    assert (report.episodes_read, report.filtered[SKIP_DUPLICATE], report.rows) == (5, 1, 4)
    assert "zz-replay" in {r.episode_id for r in rows}  # the one that finished last (a tie: the larger id)


@pytest.mark.slow
def test_dpo_pairs_same_instance_and_prompt_margin_cap_and_dimension(runs, tmp_path):
    sources = [runs[name] for name in ("oracle", "null", "naive", "openai_a", "openai_b")]
    rows, report = dpo_rows(sources)
    assert rows and report.rows == len(rows)
    by_id = {e["episode_id"]: e for run in sources for e in _episodes(run)}
    for row in rows:
        chosen, rejected = by_id[row.chosen_episode_id], by_id[row.rejected_episode_id]
        assert (chosen["instance_id"], chosen["prompt_level"]) == (rejected["instance_id"], rejected["prompt_level"])
        assert row.score_chosen == chosen["final_score"] > rejected["final_score"] == row.score_rejected
        assert row.dimension == "final_score" and row.prompt[-1].role == "user"
        assert (chosen["model"] == "scripted-model") == (rejected["model"] == "scripted-model")  # same prompts only
        assert row.chosen[-1].tool_calls and row.rejected[-1].tool_calls
    model_pair = [r for r in rows if by_id[r.chosen_episode_id]["model"] == "scripted-model"]
    assert [(p.score_chosen, p.prompt[0].role) for p in model_pair] == [(100.0, "system")]
    assert model_pair[0].score_rejected == by_id[model_pair[0].rejected_episode_id]["final_score"]

    wide, _ = dpo_rows(sources, margin=100.0)
    assert all(r.score_chosen - r.score_rejected >= 100 for r in wide) and model_pair[0] not in wide
    capped, capped_report = dpo_rows(sources, max_pairs=1)
    groups = {(r.instance_id, r.prompt_level) for r in rows}
    assert len(capped) == len(groups) and capped_report.filtered["pair over --max-pairs"] == len(rows) - len(groups)
    for pair in capped:
        same = [
            r.score_chosen - r.score_rejected
            for r in rows
            if (r.instance_id, r.prompt_level) == (pair.instance_id, pair.prompt_level)
        ]
        assert pair.score_chosen - pair.score_rejected == max(same)

    runs_pair = [runs["openai_a"], runs["openai_b"]]
    numeric, _ = dpo_rows(runs_pair, dimension="numerical:relative_l2", margin=50)
    (pair,) = numeric
    assert (pair.dimension, pair.score_chosen, pair.score_rejected) == ("numerical:relative_l2", 100.0, 0.0)
    files, files_report = dpo_rows(runs_pair, dimension="file_match")
    assert files == [] and files_report.filtered["pair under the margin"] == 1  # both wrote both files
    with pytest.raises(
        ExportError, match=r"unknown dimension 'accuracy'.*final_score, file_match, numerical:relative_l2"
    ):
        dpo_rows(sources, dimension="accuracy")

    path = write_dataset(rows, "dpo", tmp_path / "dpo.parquet")
    data = _load(path, tmp_path)
    assert data.num_rows == len(rows) and set(data[0]["prompt"][0]) == {"role", "content"}  # no null tool fields
    assert {
        "prompt",
        "chosen",
        "rejected",
        "score_chosen",
        "score_rejected",
        "chosen_episode_id",
        "rejected_episode_id",
        "dimension",
    } <= set(data.column_names)


@pytest.mark.slow
def test_kto_labels_by_threshold_and_every_episode_with_a_score(runs, tmp_path):
    sources = [runs[name] for name in ("oracle", "null", "openai_a", "openai_b", "produced", "broken")]
    rows, report = kto_rows(sources, threshold=50)
    assert report.filtered[SKIP_INFRA_ERROR] == 2 and report.filtered[SKIP_UNSCORED] == 1
    assert len(rows) == 4 + 4 + 1 + 1 + 1  # the agent_error has a score (0) and a conversation
    (broken,) = [r for r in rows if r.agent == "broken"]
    assert not broken.label and broken.completion[-1].tool_calls[0].function.name == "list_files"
    assert all(r.label == (r.final_score >= 50) for r in rows) and {r.label for r in rows} == {True, False}
    assert all(r.prompt[-1].role == "user" and r.completion[0].role == "assistant" for r in rows)
    path = write_dataset(rows, "kto", tmp_path / "kto.jsonl", "jsonl")
    data = _load(path, tmp_path)
    assert data.num_rows == len(rows) and sorted(data["label"]) == sorted(r.label for r in rows)
    first = json.loads(path.read_text().splitlines()[0])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    calls = [m for line in lines for m in line["completion"] if m["role"] == "assistant"]
    assert all("content" in m and "tool_call_id" not in m for m in calls)  # content kept (null), unset fields left out
    assert list(first) == [
        "run_id",
        "episode_id",
        "task_id",
        "instance_id",
        "prompt_level",
        "seed",
        "agent",
        "model",
        "prompt",
        "completion",
        "tools",
        "label",
        "final_score",
    ]


@pytest.mark.slow
def test_a_dimension_alone_leaves_single_episodes_out(runs):
    _, report = dpo_rows([runs["oracle"]])
    assert report.filtered[SKIP_ALONE] == 4 and report.rows == 0


@pytest.mark.slow
def test_exports_are_byte_identical_whatever_the_folder_order(runs, tmp_path):
    forward = [runs[name] for name in ("oracle", "null", "naive", "openai_a", "openai_b")]
    for index, order in enumerate((forward, forward[::-1])):
        folder = tmp_path / str(index)
        write_dataset(sft_rows(order, min_score=0)[0], "sft", folder / "sft.parquet")
        write_dataset(dpo_rows(order)[0], "dpo", folder / "dpo.parquet")
        write_dataset(kto_rows(order, threshold=50)[0], "kto", folder / "kto.parquet")
        write_dataset(kto_rows(order, threshold=50)[0], "kto", folder / "kto.jsonl", "jsonl")
    for name in ("sft.parquet", "dpo.parquet", "kto.parquet", "kto.jsonl"):
        assert (tmp_path / "0" / name).read_bytes() == (tmp_path / "1" / name).read_bytes(), name


def test_verl_and_skyrl_rows_rebuild_instances_without_the_reference(registry, instance_cache, tmp_path):
    requests = [InstanceRequest(TASK, level, seed) for level in ("B3", "B1") for seed in (1, 0)]
    items = fresh_instances(requests, registry, instance_cache, system_prompt="Be careful.")
    assert [(i.info.level, i.info.seed, i.info.index) for i in items] == [
        ("B1", 0, 0),
        ("B1", 1, 1),
        ("B3", 0, 2),
        ("B3", 1, 3),
    ]
    task = registry.get(TASK)
    for item in items:
        params = sample_params(task, item.info.seed)
        assert json.loads(item.info.params_json) == params and item.info.source == "generator"
        ref, _ = instance_cache.get(task, params)
        assert item.info.instance_id == ref.instance_id
        assert item.messages[1].content == (ref.path / f"prompt_{item.info.level.lower()}.md").read_text()
    verl_path = write_dataset(verl_rows(items), "verl", tmp_path / "verl.parquet")
    skyrl_path = write_dataset(skyrl_rows(items), "skyrl", tmp_path / "skyrl.parquet")
    verl = _load(verl_path, tmp_path)
    assert verl.column_names == ["data_source", "prompt", "ability", "reward_model", "extra_info", "agent_name"]
    assert verl[0]["reward_model"] == {"style": "rule", "ground_truth": None} and verl[0]["ability"] == "demo"
    assert verl[0]["data_source"] == f"asibench/{TASK}" and verl[0]["prompt"][0] == {
        "role": "system",
        "content": "Be careful.",
    }
    skyrl = _load(skyrl_path, tmp_path)
    assert skyrl.column_names == ["data_source", "prompt", "env_class", "reward_spec", "extra_info"]
    assert skyrl[2]["env_class"] == "asibench" and skyrl[2]["reward_spec"] == {"method": "rule", "ground_truth": None}
    assert skyrl[2]["extra_info"]["task_id"] == TASK and skyrl[2]["extra_info"]["level"] == "B3"
    ref, _ = instance_cache.get(task, sample_params(task, 0))
    secrets = [p.name for p in (ref.path / "reference").iterdir()]
    for path in (verl_path, skyrl_path):
        blob = json.dumps(_load(path, tmp_path).to_list())
        assert str(ref.path) not in blob and not any(name in blob for name in secrets)
    again = write_dataset(
        verl_rows(fresh_instances(requests[::-1], registry, instance_cache, system_prompt="Be careful.")),
        "verl",
        tmp_path / "again.parquet",
    )
    assert again.read_bytes() == verl_path.read_bytes()


def test_a_downloaded_instance_is_named_by_id_with_no_parameters(fixture_tasks_dir, instance_cache, tmp_path):
    task = TaskRegistry([fixture_tasks_dir]).get(TASK)
    generated, _ = instance_cache.get(task, sample_params(task, 5))
    downloaded = tmp_path / "instances" / f"{TASK}__seed42"
    shutil.copytree(generated.path, downloaded)
    shutil.rmtree(downloaded / "reference")  # a private instance: its prompt is all a prompt row needs
    registry = TaskRegistry([fixture_tasks_dir], [downloaded.parent])
    (item,) = fresh_instances([InstanceRequest(TASK, "b2", None, downloaded.name)], registry, instance_cache)
    assert (item.info.source, item.info.instance_id, item.info.params_json, item.info.seed) == (
        "instances",
        downloaded.name,
        None,
        None,
    )
    assert item.info.level == "B2" and [m.role for m in item.messages] == ["user"]
    (row,) = skyrl_rows([item])
    assert row.record()["extra_info"]["source"] == "instances"


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "export", *args], capture_output=True, text=True, env=cli_env(tmp_path), timeout=300)


@pytest.mark.slow
def test_cli_writes_and_prints_counts_and_refuses_bad_input(runs, tmp_path, fixture_tasks_dir):
    out = tmp_path / "sft.parquet"
    done = _cli(tmp_path, "sft", str(runs["oracle"]), str(runs["openai_a"]), "--out", str(out), "--reasoning")
    assert done.returncode == 0, done.stderr
    assert "sft: 5 row(s) from 7 episode(s)" in done.stdout and "filtered: infra_error: 2" in done.stdout
    assert _load(out, tmp_path).num_rows == 5
    first = out.read_bytes()
    assert (
        _cli(tmp_path, "sft", str(runs["openai_a"]), str(runs["oracle"]), "--out", str(out), "--reasoning").returncode
        == 0
    )
    assert out.read_bytes() == first

    done = _cli(
        tmp_path,
        "dpo",
        str(runs["oracle"]),
        str(runs["null"]),
        "--out",
        str(tmp_path / "d.jsonl"),
        "--format",
        "jsonl",
        "--margin",
        "10",
    )
    assert done.returncode == 0, done.stderr
    assert len((tmp_path / "d.jsonl").read_text().splitlines()) == 4
    done = _cli(tmp_path, "kto", str(runs["null"]), "--out", str(tmp_path / "k.parquet"), "--threshold", "50")
    assert done.returncode == 0 and "kto: 4 row(s)" in done.stdout

    bad = _cli(tmp_path, "dpo", str(runs["oracle"]), "--out", str(tmp_path / "x.parquet"), "--dimension", "accuracy")
    assert bad.returncode == 2 and "unknown dimension 'accuracy'" in bad.stderr and "file_match" in bad.stderr
    assert "--dimension" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    bad = _cli(tmp_path, "sft", str(tmp_path), "--out", str(tmp_path / "x.parquet"))
    assert bad.returncode == 2 and "is not a run folder" in bad.stderr
    empty = _cli(tmp_path, "sft", str(runs["null"]), "--out", str(tmp_path / "x.parquet"))
    assert empty.returncode == 2 and "no rows left" in empty.stderr and "below --min-score: 4" in empty.stdout
    assert not (tmp_path / "x.parquet").exists()
    bad = _cli(
        tmp_path, "kto", str(runs["null"]), "--out", str(tmp_path / "x.parquet"), "--threshold", "5", "--format", "csv"
    )
    assert bad.returncode == 2 and "--format" in bad.stderr

    verl = tmp_path / "verl.parquet"
    args = ["--tasks", TASK, "--levels", "B2", "--seeds", "0-1", "--tasks-dir", str(fixture_tasks_dir)]
    done = _cli(tmp_path, "verl", *args, "--out", str(verl))
    assert done.returncode == 0, done.stderr
    assert _load(verl, tmp_path).num_rows == 2 and "verl: 2 row(s)" in done.stdout
    done = _cli(tmp_path, "skyrl", *args, "--no-system-prompt", "--out", str(tmp_path / "s.parquet"))
    assert done.returncode == 0, done.stderr
    assert [m["role"] for m in _load(tmp_path / "s.parquet", tmp_path)[0]["prompt"]] == ["user"]
    done = _cli(tmp_path, "skyrl", *args, "--out", str(tmp_path / "s2.parquet"))
    assert done.returncode == 0, done.stderr
    system = _load(tmp_path / "s2.parquet", tmp_path)[0]["prompt"][0]
    assert system["role"] == "system" and "<tool_call>" in system["content"] and "write_file" in system["content"]
    bad = _cli(tmp_path, "verl", "--tasks", "nope.task", "--out", str(verl))
    assert bad.returncode == 2 and "--tasks" in bad.stderr
