"""The static benchmark site: built from a real run of the demo task, then opened in headless chromium.

The browser tests are never skipped: ``make test`` installs chromium from Debian when it is missing
(scripts/chromium.sh).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from asibench_env.agents import OracleAgent
from asibench_env.runs.batch import run_batch
from asibench_env.runs.runner import plan_episodes
from asibench_env.runs.site import SiteError, build_site, load_leaderboard
from asibench_env.runs.validation import find_leaks
from asibench_env.tasks.catalog import goal_excerpt
from asibench_env.tasks.registry import TaskRegistry

TASK = "demo.line_fit"
LEVELS = ["B1", "B2", "B3", "B4"]
ROWS = [
    {
        "agent": {"name": "oracle", "model": None},
        "overall": 100.0,
        "overall_ci": [99.0, 100.0],
        "B1": 100.0,
        "cost_per_problem": None,
        "coverage": 1.0,
        "trust": "verified",
    },
    {
        "agent": {"name": "naive"},
        "overall": 12.5,
        "overall_ci": [8.0, 17.0],
        "B1": 20.0,
        "cost_per_problem": 0.0,
        "coverage": 0.5,
        "trust": "self-reported",
    },
]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, registry: TaskRegistry) -> Path:
    """A real run: the oracle on the demo task, levels B1-B4, seed 0."""
    out = tmp_path_factory.mktemp("site-run") / "oracle-demo"
    run_batch(
        plan_episodes([TASK], LEVELS, [0]),
        lambda: OracleAgent(registry),
        out,
        registry=registry,
        show_progress=False,
        agent_config={"name": "oracle"},
    )
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, demo_run: Path, registry: TaskRegistry) -> Path:
    """The site of the demo run with its real leaderboard (so row pages and charts are checked too)."""
    from asibench_env.runs.leaderboard import build_leaderboard

    folder = tmp_path_factory.mktemp("site")
    board = folder / "leaderboard.json"
    board.write_text(build_leaderboard([demo_run], registry=registry).model_dump_json())
    out = folder / "site"
    build_site([demo_run], out, registry=registry, leaderboard=load_leaderboard(board))
    return out


class _Page(HTMLParser):
    """The links, ids, images, tables and text of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, url)
        self.ids: set[str] = set()
        self.images: list[dict[str, str | None]] = []
        self.html_lang: str | None = None
        self.tables = self.captions = self.th_scoped = self.th_all = self.buttons = 0
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "id" in found and found["id"]:
            self.ids.add(found["id"])
        for attribute in ("href", "src"):
            if found.get(attribute):
                self.links.append((tag, attribute, str(found[attribute])))
        if tag == "html":
            self.html_lang = found.get("lang")
        if tag == "img":
            self.images.append(found)
        self.tables += tag == "table"
        self.captions += tag == "caption"
        self.buttons += tag == "button"
        if tag == "th":
            self.th_all += 1
            self.th_scoped += found.get("scope") in ("col", "row")
        self._in_script = tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if not self._in_script:
            self.text.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


# ---------------------------------------------------------------------------- the built files
def test_site_has_an_index_a_page_per_task_and_per_run(site: Path, registry: TaskRegistry, demo_run: Path) -> None:
    assert (site / "index.html").is_file()
    assert (site / "style.css").is_file()
    for task in registry:
        assert (site / "tasks" / f"{task.id}.html").is_file()
    run_page = site / "runs" / demo_run.name / "index.html"
    text = run_page.read_text()
    assert (site / "runs" / demo_run.name / "levels.svg").read_text().lstrip().startswith("<?xml")
    for result in (demo_run / "results").glob("*.json"):
        assert f'href="results/{result.name}"' in text
        assert (site / "runs" / demo_run.name / "results" / result.name).read_bytes() == result.read_bytes()
    assert "trajectories/episodes/" in text and "trajectories/steps/" in text
    assert "asibench-env" in text and json.loads((demo_run / "run_metadata.json").read_text())["timestamp"] in text
    index = (site / "index.html").read_text()
    assert "No runs are ranked yet" not in index and "95% interval" in index
    assert len(list((site / "rows").glob("*.html"))) == 1 and (site / "profiles.svg").is_file()


def test_pages_are_accessible_and_offline(site: Path) -> None:
    for path in _pages(site):
        page = parse(path.read_text())
        assert page.html_lang == "en", path
        assert any(url.endswith("#main") for _, _, url in page.links) and "main" in page.ids, path
        assert page.tables == page.captions, f"{path}: a table without a caption"
        assert page.th_all == page.th_scoped, f"{path}: a <th> without scope"
        assert all(image.get("alt") for image in page.images), f"{path}: an image without alt text"
        assert page.buttons == 0, f"{path}: sort buttons belong to the script (tables work without it)"
        for tag, attribute, url in page.links:
            # Nothing is fetched at view time: no stylesheet, script or image from elsewhere.
            if tag != "a":
                assert not urlsplit(url).scheme, f"{path}: {tag} {attribute}={url}"


def test_internal_links_resolve_to_files_of_the_site(site: Path) -> None:
    checked = 0
    for path in _pages(site):
        page = parse(path.read_text())
        for _tag, _attribute, url in page.links:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc:
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            assert target.is_relative_to(site.resolve()), f"{path}: {url} leaves the site"
            assert target.is_file(), f"{path}: {url} -> {target} does not exist"
            if parts.fragment and target.suffix == ".html":
                assert parts.fragment in parse(target.read_text()).ids, f"{path}: {url}: no such id"
            checked += 1
    assert checked > 50


def test_task_page_shows_the_public_material_only(site: Path, registry: TaskRegistry, private_cache: Path) -> None:
    task = registry.get(TASK)
    page = parse((site / "tasks" / f"{TASK}.html").read_text())
    text = " ".join(" ".join(page.text).split())
    assert task.meta.name in text and TASK in text and task.summary in text
    assert "".join(goal_excerpt(task).replace("`", "").split()) in "".join(text.split())
    for spec in task.outputs:
        assert spec.name in text and spec.type in text
    # Leak-checked as the validator checks a prompt: the page's text, as a prompt beside each reference
    # of the run's instances, states no reference value.
    instances = [p.parent for p in private_cache.rglob("instance_meta.json") if (p.parent / "reference").is_dir()]
    instances = [p for p in instances if TASK in p.as_posix() or TASK in (p / "instance_meta.json").read_text()]
    assert instances
    for instance in instances:
        probe = private_cache.parent / "leak-probe"
        shutil.rmtree(probe, ignore_errors=True)
        shutil.copytree(instance / "reference", probe / "reference")
        (probe / "data").mkdir()
        (probe / "prompt_b3.md").write_text(text, encoding="utf-8")
        assert find_leaks(probe) == []
        shutil.rmtree(probe)


def test_run_page_shows_costs_and_unscored_episodes(tmp_path: Path, demo_run: Path, registry: TaskRegistry) -> None:
    run = tmp_path / "model-run"
    shutil.copytree(demo_run, run)
    results = sorted((run / "results").glob("*.json"))
    costly = json.loads(results[0].read_text())
    costly["cost"] = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15, "estimated_cost_usd": 0.0042}
    results[0].write_text(json.dumps(costly))
    produced = json.loads(results[-1].read_text())  # B4: kept outputs, not scored
    produced.update(final_score=None, episode_status="produced", status="completed")
    results[-1].write_text(json.dumps(produced))
    built = build_site([run], tmp_path / "site", registry=registry)
    html = (tmp_path / "site" / "runs" / "model-run" / "index.html").read_text()
    assert "cost (USD)" in html and "0.0042" in html
    assert 'data-label="score" class="num" data-sort="-1">-</td>' in html
    assert "B4 -" in html and "B1 100.0" in html  # the chart's alt text: B4 has no scored episode
    assert built.index == tmp_path / "site" / "index.html"


def test_leaderboard_rows_become_a_ranked_table(tmp_path: Path, registry: TaskRegistry) -> None:
    board = tmp_path / "leaderboard.json"
    board.write_text(json.dumps({"rows": ROWS}))
    rows = load_leaderboard(board)
    assert rows == ROWS and load_leaderboard(None) == [] and load_leaderboard(tmp_path / "none.json") == []
    build_site([], tmp_path / "site", registry=registry, leaderboard=rows)
    html = (tmp_path / "site" / "index.html").read_text()
    assert "No runs are ranked yet" not in html
    assert '<th scope="row" data-sort="name=oracle">name=oracle</th>' in html
    assert "99.0–100.0" in html and "8.0–17.0" in html and "self-reported" in html and 'data-sort="12.5"' in html
    (tmp_path / "bad.json").write_text('{"rows": [1, 2]}')
    with pytest.raises(SiteError, match="list of row objects"):
        load_leaderboard(tmp_path / "bad.json")


def test_the_leaderboard_commands_json_becomes_the_sites_table(
    tmp_path: Path, demo_run: Path, registry: TaskRegistry
) -> None:
    """The JSON `asibench-env leaderboard --out` writes (docs/leaderboard.md) is shown as ranked columns."""
    from asibench_env.runs.leaderboard import build_leaderboard

    board = build_leaderboard([demo_run], registry=registry)
    path = tmp_path / "leaderboard.json"
    path.write_text(board.model_dump_json())
    (row,) = load_leaderboard(path)
    assert row["rank"] == 1 and row["configuration"] == "oracle" and row["mean"] == pytest.approx(100.0, abs=0.5)
    assert [row[level] for level in ("B1", "B2", "B3", "B4")] == [pytest.approx(100.0, abs=0.5)] * 4
    assert row["episodes"] == "4/4" and row["trust"] in {"official", "reproduced", "community", "unverified"}
    build_site([demo_run], tmp_path / "site", registry=registry, leaderboard=[row])
    html = (tmp_path / "site" / "index.html").read_text()
    assert "95% interval" in html and "No runs are ranked yet" not in html
    assert "_details" not in html  # the row's provenance goes to its own page, not into columns
    page = tmp_path / "site" / "rows" / f"{board.rows[0].config_id}.html"
    assert f'href="rows/{page.name}"' in html and page.is_file()
    row_page = page.read_text()
    assert "Why it is labelled" in row_page and board.rows[0].config_id in row_page
    assert 'href="../runs/' in row_page  # the merged run folder links to its run page


def test_build_refuses_a_folder_it_did_not_build(tmp_path: Path, registry: TaskRegistry, demo_run: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(SiteError, match="not empty"):
        build_site([demo_run], tmp_path / "mine", registry=registry)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(SiteError, match="no results/"):
        build_site([tmp_path / "mine"], tmp_path / "site", registry=registry)
    # A site folder is rebuilt in place; two runs of the same name get two pages.
    build_site([demo_run], tmp_path / "site", registry=registry)
    built = build_site([demo_run, demo_run], tmp_path / "site", registry=registry)
    assert {p.parent.name for p in built.pages if p.parent.parent.name == "runs"} == {
        demo_run.name,
        f"{demo_run.name}-2",
    }


def test_cli_site_build(tmp_path: Path, demo_run: Path, fixture_tasks_dir: Path) -> None:
    out = tmp_path / "site"
    cmd = [sys.executable, "-m", "asibench_env", "site", "build", str(demo_run), "--out", str(out)]
    proc = subprocess.run([*cmd, "--tasks-dir", str(fixture_tasks_dir)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str((out / "index.html").resolve())
    assert (out / "tasks" / f"{TASK}.html").is_file()
    proc = subprocess.run([*cmd, "--leaderboard", str(tmp_path / "missing.json")], capture_output=True, text=True)
    assert proc.returncode == 2 and "missing.json is not a file" in proc.stderr


# ---------------------------------------------------------------------------- in a real browser
def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.fail("chromium is not installed: run `bash scripts/chromium.sh` (make test does)")


def _browse(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless chromium with a fresh profile, logging the pages' console messages to stderr."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [
        _chromium(),
        "--headless=new",
        "--no-sandbox",  # as root (CI containers): chromium refuses its own sandbox there
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={profile}",
        *args,
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.slow
def test_every_page_loads_in_chromium_without_console_errors(site: Path, tmp_path: Path) -> None:
    for path in _pages(site):
        proc = _browse(tmp_path, "--dump-dom", path.as_uri())
        assert _console(proc.stderr) == [], f"{path}: {_console(proc.stderr)}"
        dom = parse(proc.stdout)
        assert dom.html_lang == "en"
        # The script ran: every sortable heading is a button now.
        sortable = path.read_text().count('class="sortable')
        assert (dom.buttons > 0) == (sortable > 0), path


def _levels(html: str) -> list[str]:
    """The level column of the episodes table, top to bottom."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<td data-label="level">(B\d)</td>', body)


def _click_and_dump(page: Path, heading: int, clicks: int, tmp_path: Path) -> str:
    """The DOM of ``page`` after its first sortable table's heading number ``heading`` was pressed ``clicks`` times."""
    html = page.read_text()
    click = (
        f"<script>var b = document.querySelectorAll('table.sortable thead th')[{heading}].querySelector('button');"
        f"for (var i = 0; i < {clicks}; i++) b.click();</script>"
    )
    probe = page.with_name("sort-probe.html")
    probe.write_text(html.replace("</body>", click + "</body>"))
    try:
        proc = _browse(tmp_path, "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    assert _console(proc.stderr) == []
    return proc.stdout


@pytest.mark.slow
def test_a_table_sorts_when_its_heading_is_clicked(
    site: Path, demo_run: Path, tmp_path: Path, registry: TaskRegistry
) -> None:
    run_page = site / "runs" / demo_run.name / "index.html"
    assert _levels(run_page.read_text()) == LEVELS  # as built (and as shown without script)
    dom = _click_and_dump(run_page, 1, 2, tmp_path)  # "level", twice: descending
    assert 'aria-sort="descending"' in dom
    assert _levels(dom) == ["B4", "B3", "B2", "B1"]
    # Numbers sort as numbers (12.5 before 100.0, which text order would reverse), blanks last.
    build_site([], tmp_path / "board", registry=registry, leaderboard=ROWS)
    dom = _click_and_dump(tmp_path / "board" / "index.html", 1, 1, tmp_path)  # "overall", ascending
    board = dom.split("<tbody>", 1)[1]
    assert board.index("name=naive") < board.index("name=oracle")
    dom = _click_and_dump(tmp_path / "board" / "index.html", 4, 1, tmp_path)  # "cost per problem"
    board = dom.split("<tbody>", 1)[1]
    assert board.index("name=naive") < board.index("name=oracle")  # 0.0, then the blank


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.slow
def test_screenshots_at_phone_and_desktop_widths(site: Path, demo_run: Path, tmp_path_factory) -> None:
    shots = tmp_path_factory.mktemp("screenshots")
    profiles = tmp_path_factory.mktemp("profiles")
    pages = {"index": site / "index.html", "run": site / "runs" / demo_run.name / "index.html"}
    for name, page in pages.items():
        for width, height in ((390, 844), (1280, 900)):
            shot = shots / f"{name}-{width}.png"
            proc = _browse(profiles, f"--window-size={width},{height}", f"--screenshot={shot}", page.as_uri())
            assert _console(proc.stderr) == []
            assert _png_size(shot) == (width, height)
            assert shot.stat().st_size > 10_000, f"{shot} looks blank"
    print(f"screenshots: {shots}")


def test_ranked_rows_get_a_score_cost_chart_with_its_pareto_front_and_level_profiles(
    tmp_path: Path, registry: TaskRegistry
) -> None:
    from asibench_env.runs.site.plots import pareto_front

    assert pareto_front([(1.0, 50.0), (2.0, 40.0), (0.5, 30.0), (3.0, 90.0)]) == [2, 0, 3]
    rows = [
        {"rank": 1, "configuration": "big-model", "mean": 80.0, "$ per problem": 0.9, "B1": 90.0, "B4": 70.0},
        {"rank": 2, "configuration": "small-model", "mean": 60.0, "$ per problem": 0.1, "B1": 75.0, "B4": 45.0},
        {"rank": 3, "configuration": "costly-weak", "mean": 50.0, "$ per problem": 1.5, "B1": 60.0, "B4": 40.0},
    ]
    build_site([], tmp_path / "site", registry=registry, leaderboard=rows)
    html = (tmp_path / "site" / "index.html").read_text()
    assert 'src="score-cost.svg"' in html and 'src="profiles.svg"' in html
    assert "small-model: 60.0 at $0.1000" in html  # the alt text carries the numbers
    svg = (tmp_path / "site" / "score-cost.svg").read_text()
    assert svg.startswith("<?xml") and "Pareto front" in svg and "costly-weak" in svg
    build_site(
        [], tmp_path / "free", registry=registry, leaderboard=[{"rank": 1, "configuration": "oracle", "mean": 100.0}]
    )
    assert "No configuration has a recorded cost" in (tmp_path / "free" / "index.html").read_text()
