"""The eval harness without the model: suite files, scoring, the runner's bookkeeping, reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from eval import harness
from eval.report import compare, summaries, write_reports
from eval.scoring import Outcome, score, summarize
from eval.suite import Case, Dataset, SuiteError, load_suite
from tools import build_tools
from tools.metrics import SemanticModel

from .conftest import REAL, DemoShops


def test_demo_suite_is_big_enough_and_names_real_tools() -> None:
    suite = load_suite("demo")
    assert len(suite.cases) >= 80
    tools = set(build_tools(SemanticModel.load())) | {"clarify", "cannot_answer"}
    for case in suite.cases:
        assert set(case.tools) <= tools, case.id
    kinds = {c.kind for c in suite.cases}
    assert {"answer", "clarification", "refusal", "error"} <= kinds
    tags = {t for c in suite.cases for t in c.tags}
    for tag in (
        "metrics",
        "follow-up",
        "segments",
        "search",
        "recommend",
        "anomalies",
        "copy",
        "decline",
        "smoke",
    ):
        assert tag in tags


def test_every_gold_sql_of_the_demo_suite_runs_and_returns_rows(
    tmp_path: Path, demo_shops: DemoShops
) -> None:
    settings = Settings(data_dir=tmp_path)
    demo_shops.copy(tmp_path, 300_000, seed=7)
    with Warehouse(settings, read_only=True) as warehouse:
        for case in load_suite("demo").cases:
            if case.gold_sql:
                assert harness.gold_rows(warehouse, case.gold_sql), case.id


def test_suite_files_yaml_jsonl_and_their_errors(tmp_path: Path) -> None:
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text(
        json.dumps({"id": "a", "question": "Revenue?", "tools": ["query_metric"]})
        + "\n\n"
        + json.dumps({"id": "b", "question": "Stock?", "kind": "refusal"})
        + "\n"
    )
    suite = load_suite(jsonl, Dataset(files=["rees46/x.csv"]))
    assert [c.id for c in suite.cases] == ["a", "b"] and suite.dataset.files == ["rees46/x.csv"]
    with pytest.raises(SuiteError, match="no suite 'nope'.*demo"):
        load_suite("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\ndataset: {demo_events: 10}\ncases:\n  - {id: a, question: q}\n  - {id: a, question: r}\n"
    )
    with pytest.raises(SuiteError, match="appears twice"):
        load_suite(bad)
    bad.write_text("name: x\ndataset: {demo_events: 10, files: [a.csv]}\ncases: []\n")
    with pytest.raises(SuiteError, match="exactly one"):
        load_suite(bad)
    bad.write_text("name: x\ndataset: {demo_events: 10}\ncases:\n  - {id: a, question: q, tool: [x]}\n")
    with pytest.raises(SuiteError, match="tool"):  # a misspelt key is an error, not ignored
        load_suite(bad)
    bad.write_text("- just a list\n")
    with pytest.raises(SuiteError, match="mapping"):
        load_suite(bad)


def outcome(**fields: Any) -> Outcome:
    return Outcome(**{"case": "c", "system": "shoplens", "kind": "answer", "text": "", **fields})


def test_scoring_each_check_can_fail() -> None:
    case = Case(
        id="c", question="Revenue by category?", tools=["query_metric"], numbers=[120.5], contains=["books"]
    )
    gold = [("books", 120.5), ("toys", 3.0)]
    good = outcome(
        tool="query_metric",
        text="Books led with 120.50.",
        rows=[["books", 120.5], ["toys", 3.0]],
        numbers_stated=1,
    )
    result = score(case, good, gold)
    assert result.passed and set(result.checks) == {
        "kind",
        "tool",
        "execution",
        "numbers",
        "contains",
        "grounded",
        "prose",
    }
    # The model's JSON call shown as the answer fails, whatever ids it happens to hold.
    called = good.model_copy(
        update={"text": '{"tool":"query_metric","arguments":{"metric":"revenue"}} books 120.5'}
    )
    assert score(case, called, gold).reasons == ["the answer's text is a tool call, not prose"]
    bad = outcome(tool="run_sql", text="Toys led.", rows=[["toys", 3.0]], ungrounded=["7"], numbers_stated=1)
    result = score(case, bad, gold)
    assert not any(result.checks[k] for k in ("tool", "execution", "numbers", "contains", "grounded"))
    assert len(result.reasons) == 5
    # Copy's facts table holds the brief's code whether the copy says it or not: the text must.
    promo = Case(id="p", question="Banner, code GLOW15", tools=["write_marketing_copy"], contains=["GLOW15"])
    facts = [["product", "Hair Dryer"], ["discount code", "GLOW15"]]
    copy = outcome(tool="write_marketing_copy", kind="answer", rows=facts)
    assert not score(promo, copy.model_copy(update={"text": "15% off the Hair Dryer!"}), None).checks[
        "contains"
    ]
    assert score(promo, copy.model_copy(update={"text": "15% off with GLOW15!"}), None).checks["contains"]
    decline = Case(id="d", question="Stock?", kind="refusal")
    assert score(decline, outcome(kind="refusal", text="No stock data."), None).passed
    assert not score(decline, outcome(kind="answer", text="42"), None).passed
    ordered = Case(id="o", question="Top 2", ordered=True)
    assert not score(ordered, outcome(rows=[["b", 1], ["a", 2]]), [("a", 2), ("b", 1)]).checks["execution"]


def test_summary_figures() -> None:
    results = [
        score(Case(id="a", question="q", tools=["x"]), outcome(tool="x", text="5 and 6", numbers_stated=2, seconds=1.0,
                                                               tokens={"completion": 10}), None),
        score(Case(id="b", question="q", tools=["x"]), outcome(tool="y", text="7", numbers_stated=1, ungrounded=["7"],
                                                               seconds=3.0, tokens={"completion": 30}), None),
        score(Case(id="c", question="q", kind="refusal"), outcome(kind="refusal", seconds=2.0), None),
        score(Case(id="d", question="q"), outcome(kind="clarification", seconds=10.0), None),
    ]  # fmt: skip
    figures = summarize(results)
    assert figures["cases"] == 4 and figures["pass_rate"] == 0.5  # a and c
    assert figures["tool_choice_accuracy"] == 0.5
    assert figures["groundedness"] == pytest.approx(2 / 3, abs=1e-4)
    assert figures["refusal_correctness"] == 0.5  # c declined rightly, d wrongly
    assert figures["p50_seconds"] == 2.5 and figures["p95_seconds"] == 10.0
    assert figures["tokens_per_second"] == pytest.approx(40 / 16)
    assert figures["copy_fallback_rate"] is None  # no copy asked


def test_copy_figures_count_fallbacks_and_repairs() -> None:
    case = Case(id="c", question="Write copy", tools=["write_marketing_copy"])
    notes = [
        ["the model's copy made claims the facts lack; plain copy written from the facts instead"],
        ["dropped a sentence the facts do not support (an offer the brief does not make: sale): On sale!"],
        [],
        [],
    ]
    results = [score(case, outcome(tool="write_marketing_copy", text="Hi.", notes=n), None) for n in notes]
    results.append(score(case, outcome(kind="error", tool="write_marketing_copy", text="no product"), None))
    figures = summarize(results)
    assert figures["copy_fallback_rate"] == 0.25 and figures["copy_repaired_rate"] == 0.25


def test_answers_flagged_as_leaving_out_part_of_the_question_are_counted_with_the_flags_precision() -> None:
    case = Case(id="m", question="Busiest minute for purchases?", tools=["query_metric"], numbers=[9])
    right = outcome(tool="query_metric", text="9 purchases.", rows=[[9]])
    wrong = outcome(tool="query_metric", text="Purchases: 54.", rows=[[54]], left_out=["by minute"])
    lucky = outcome(tool="query_metric", text="9 purchases.", rows=[[9]], left_out=["the highest"])
    figures = summarize([score(case, o, None) for o in (right, wrong, wrong, lucky)])
    assert figures["left_out_flagged"] == 0.75 and figures["left_out_wrong"] == round(2 / 3, 4)
    assert summarize([score(case, right, None)])["left_out_wrong"] is None


def test_chinese_questions_count_answers_in_chinese_and_translations() -> None:
    case = Case(id="z", question="上周有多少订单？", kind="answer")
    answers = [
        outcome(question=case.question, text="订单数：12。"),  # code's Chinese
        outcome(
            question=case.question,
            text="上周有 12 个订单。",
            notes=["in English, as code wrote it: Orders: 12."],
        ),
        outcome(question=case.question, text="Orders: 12."),  # left in English
        # English quoting a Chinese word is English
        outcome(question=case.question, text="I could not answer that: no product contains '耳机'."),
        outcome(question="How many orders?", text="Orders: 12."),  # not a Chinese question
    ]
    figures = summarize([score(case, o, None) for o in answers])
    assert figures["in_chinese_rate"] == round(2 / 4, 4) and figures["translated_rate"] == round(1 / 4, 4)
    assert summarize([score(case, answers[-1], None)])["in_chinese_rate"] is None


class FakeSystem:
    """Stands in for the assistant: answers from a script, so the runner is tested alone."""

    calls: list[str] = []

    def __init__(self, name: str, *args: Any) -> None:
        self.name = name

    def answer(self, case: Case) -> Outcome:
        FakeSystem.calls.append(case.id)
        if case.id == "boom":
            raise RuntimeError("tool crashed")
        return outcome(case=case.id, system=self.name, tool="query_metric", rows=[[1.0]], seconds=0.5)


class FakeEndpoint:
    model = "fake-model"
    engine = "fake"
    base_url = "http://127.0.0.1:9/v1"


def test_runner_writes_results_resumes_and_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "ShopLensSystem", FakeSystem)
    monkeypatch.setattr("assistant.embeddings.Encoder", lambda: None)
    (tmp_path / "data").mkdir()
    settings = Settings(data_dir=tmp_path / "data")
    suite_path = tmp_path / "s.yaml"
    suite_path.write_text(
        "name: s\ndataset: {demo_events: 2000, seed: 1}\ncases:\n"
        "  - {id: one, question: q1, tools: [query_metric], gold_sql: 'SELECT 1.0'}\n"
        "  - {id: boom, question: q2}\n"
        "  - {id: three, question: q3, tools: [run_sql]}\n"
    )
    suite = load_suite(suite_path)
    run_dir = tmp_path / "run"
    FakeSystem.calls = []
    lines = harness.run_suite(
        suite,
        ["shoplens"],
        settings,
        run_dir,
        real_data=REAL,
        endpoint=FakeEndpoint(),
        use_judge=False,
        limit=2,
    )
    assert [(r["case"], r["passed"]) for r in lines] == [("one", True), ("boom", False)]
    assert lines[1]["outcome"]["kind"] == "error" and "tool crashed" in lines[1]["outcome"]["error"]
    # A crash mid-write leaves a broken last line: that case is run again, nothing else.
    with (run_dir / "results.jsonl").open("a") as handle:
        handle.write('{"system": "shoplens", "case": "thr')
    FakeSystem.calls = []
    lines = harness.run_suite(
        suite, ["shoplens"], settings, run_dir, real_data=REAL, endpoint=FakeEndpoint(), use_judge=False
    )
    assert FakeSystem.calls == ["three"]
    assert sorted(r["case"] for r in lines) == ["boom", "one", "three"]
    figures = write_reports(run_dir)
    assert figures["shoplens"]["cases"] == 3 and figures["shoplens"]["errors"] == 1
    report = (run_dir / "report.md").read_text()
    assert "| cases passed |" in report and "boom" in report and "tool crashed" in report
    assert "plotly" in (run_dir / "report.html").read_text()
    info = json.loads((run_dir / "run.json").read_text())
    assert info["model"] == "fake-model" and len(info["load_at_start"]) == len(info["load_at_end"]) == 3
    assert "Machine load (1/5/15-minute averages)" in report


def test_a_busy_machine_is_recorded_and_said_in_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(harness, "ShopLensSystem", FakeSystem)
    monkeypatch.setattr("assistant.embeddings.Encoder", lambda: None)
    loads = iter([(7.5, 6.0, 4.0), (2.0, 3.0, 3.5)])  # before the run, after its last case
    monkeypatch.setattr(harness, "machine_load", lambda: next(loads))
    monkeypatch.setattr(harness.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(harness, "machine_cpu", lambda: "Test CPU; AVX2, no AVX-512")
    suite_path = tmp_path / "s.yaml"
    suite_path.write_text(
        "name: s\ndataset: {demo_events: 2000, seed: 1}\ncases:\n  - {id: one, question: q1}\n"
    )
    run_dir = tmp_path / "run"
    harness.run_suite(
        load_suite(suite_path),
        ["shoplens"],
        Settings(data_dir=tmp_path / "data"),
        run_dir,
        real_data=REAL,
        endpoint=FakeEndpoint(),
        use_judge=False,
    )
    info = json.loads((run_dir / "run.json").read_text())
    assert info["load_at_start"] == [7.5, 6.0, 4.0] and info["load_at_end"] == [2.0, 3.0, 3.5]
    assert any("busy when the run started (load 7.5 on 2 cores)" in n for n in info["notes"])
    assert "machine is busy (load 7.5 on 2 cores)" in caplog.text
    write_reports(run_dir)
    report = (run_dir / "report.md").read_text()
    assert "on 2 cores (Test CPU; AVX2, no AVX-512): 7.5/6.0/4.0 before the run, 2.0/3.0/3.5 after" in report
    assert "The machine was busy when the run started" in report


def test_a_run_says_which_cpu_it_ran_on() -> None:
    """The same model decodes at 12 tokens/s on one 2-core machine and 20-27 on another: timings need the CPU."""
    epyc = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma\n"
    assert harness.cpu_described(epyc) == "AMD EPYC; AVX2, no AVX-512"
    xeon = "model name\t: Intel(R) Xeon(R) Platinum 8488C\nflags\t\t: avx2 avx512f amx_tile\n"
    assert harness.cpu_described(xeon) == "Intel(R) Xeon(R) Platinum 8488C; AVX-512"
    assert harness.cpu_described("") == "unknown CPU; no AVX2"


def test_compare_shows_fixed_and_broken_cases(tmp_path: Path) -> None:
    def run(folder: Path, passes: dict[str, bool]) -> Path:
        folder.mkdir()
        with (folder / "results.jsonl").open("w") as handle:
            for case, ok in passes.items():
                result = score(
                    Case(id=case, question="q", tools=["x"]),
                    outcome(case=case, tool="x" if ok else "y"),
                    None,
                )
                handle.write(
                    json.dumps(
                        {
                            "system": "shoplens",
                            "case": case,
                            "passed": result.passed,
                            **result.model_dump(mode="json"),
                        }
                    )
                    + "\n"
                )
        return folder

    a = run(tmp_path / "a", {"p": True, "q": False, "r": True})
    b = run(tmp_path / "b", {"p": True, "q": True, "r": False})
    text = compare(a, b)
    assert "Fixed (1): q" in text and "Broken (1):" in text and "- r: called y" in text
    assert (
        summaries([json.loads(line) for line in (b / "results.jsonl").read_text().splitlines()])["shoplens"][
            "cases"
        ]
        == 3
    )


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["real-rees46", "real-taobao", "real-online-retail", "real-cdnow"])
def test_real_suites_gold_sql_runs_on_their_samples(tmp_path: Path, name: str) -> None:
    from assistant.warehouse.load import load_file

    from .conftest import real

    suite = load_suite(name)
    assert len(suite.cases) >= 10
    with Warehouse(Settings(data_dir=tmp_path)) as warehouse:
        warehouse.ensure_schema()
        for path in suite.dataset.files:
            load_file(warehouse, real(path))
        for case in suite.cases:
            if case.gold_sql:
                assert harness.gold_rows(warehouse, case.gold_sql), case.id


def test_real_suites_hold_at_least_40_cases() -> None:
    assert (
        sum(
            len(load_suite(n).cases)
            for n in ("real-rees46", "real-taobao", "real-online-retail", "real-cdnow")
        )
        >= 40
    )


def test_the_baseline_declines_only_in_words_that_decline() -> None:
    from eval.harness import DECLINES

    assert DECLINES.search("I cannot answer that: the data has no costs.")
    assert DECLINES.search("That information is not available in the database.")
    assert not DECLINES.search("The profit margin last quarter can be found in the `daily_metrics` table.")
    assert not DECLINES.search("Yes, the weather did affect sales.")


def test_runs_pool_into_one_table_with_intervals_wordings_and_shapes(tmp_path) -> None:
    """Three wordings of two questions over two run folders: one pooled table."""
    from eval.pool import markdown, pool
    from eval.stats import wilson

    def run(name: str, suite: str, results: dict[str, bool]) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps({"suite": suite}))
        lines = []
        for case, passed in results.items():
            outcome = Outcome(case=case, system="shoplens", kind="answer", text="", seconds=2.0)
            lines.append(
                {
                    "system": "shoplens",
                    "case": case,
                    "passed": passed,
                    "expected_kind": "answer",
                    "checks": {"kind": True, "execution": passed},
                    "reasons": [],
                    "outcome": outcome.model_dump(),
                }
            )
        (folder / "results.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
        return folder

    first = run("a", "no-such-suite", {"q1-terse": True, "q1-chatty": True, "q1-typo": True})
    second = run("b", "no-such-suite-2", {"q2-terse": True, "q2-chatty": False, "q2-typo": False})
    figures = pool([first, second])["shoplens"]
    assert (figures["passed"], figures["cases"]) == (4, 6)
    assert figures["pass_rate_terse"] == 1.0 and figures["pass_rate_typo"] == 0.5
    assert figures["all_wordings_right"] == 0.5  # q1 in all three wordings, q2 not
    assert figures["suites"] == {"no-such-suite": (3, 3), "no-such-suite-2": (1, 3)}
    low, high = wilson(4, 6)
    assert figures["interval"] == (low, high) and 0.29 < low < 0.31 and 0.90 < high < 0.92
    assert "| answers passed | 4/6 (67%) |" in markdown(pool([first, second]))


def test_the_cli_and_the_app_share_one_eval_entry_point(settings) -> None:
    """`shoplens eval run` and the Eval tab both call eval.evaluate.evaluate: what it refuses,
    both refuse with the same words (here, before any engine or warehouse is touched)."""
    import inspect

    from assistant.cli import evals as cli_evals
    from assistant.ui import eval_tab
    from eval.evaluate import evaluate
    from eval.suite import SuiteError

    with pytest.raises(SuiteError, match="no case in demo has the tag 'no-such-tag'"):
        evaluate("demo", ["shoplens"], settings, tag="no-such-tag")
    with pytest.raises(SuiteError, match="pick at least one system"):
        evaluate("demo", [], settings)
    with pytest.raises(SuiteError, match="no suite 'nope'"):
        evaluate("nope", ["shoplens"], settings)
    for face in (cli_evals, eval_tab):
        source = inspect.getsource(face)
        assert "evaluate(" in source and "run_suite(" not in source
