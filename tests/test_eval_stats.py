"""Repeats, intervals over cases, per-case stability and significance (eval/stats.py and where the
runner, the reports, `pool` and `compare` use them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.settings import Settings
from eval import harness
from eval.pool import markdown as pool_markdown
from eval.pool import pool
from eval.report import compare, ratio_line, summaries, write_reports
from eval.scoring import Outcome
from eval.stats import per_case, rate_interval, ratio_interval, stability, verdict, wilson
from eval.suite import load_suite

from .conftest import REAL


def line(case: str, passed: bool, system: str = "shoplens", repeat: int = 0) -> dict[str, Any]:
    outcome = Outcome(case=case, system=system, kind="answer", text="", seconds=1.0)
    return {
        "system": system,
        "case": case,
        "passed": passed,
        "repeat": repeat,
        "expected_kind": "answer",
        "checks": {"kind": True, "execution": passed},
        "reasons": [] if passed else ["wrong rows"],
        "outcome": outcome.model_dump(),
    }


def write_run(folder: Path, lines: list[dict[str, Any]], suite: str = "no-such-suite") -> Path:
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"suite": suite}))
    (folder / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return folder


def test_one_answer_per_case_gets_wilsons_interval_and_repeats_a_bootstrap_over_cases() -> None:
    assert rate_interval([1.0] * 4 + [0.0] * 2) == wilson(4, 6)
    low, high = rate_interval([1.0, 0.5, 0.5, 0.0, 1.0, 0.5, 1.0, 0.0])
    assert low < 0.5625 < high and 0.2 < low and high < 0.9
    assert rate_interval([0.5] * 10) == (0.5, 0.5)  # every case half the time: no spread over cases
    assert rate_interval([1.0, 0.5]) == rate_interval([1.0, 0.5])  # seeded: a report reads the same


def test_the_ratio_interval_pairs_cases() -> None:
    a = [1.0] * 20 + [0.0] * 20
    ratio = ratio_interval(a, a)
    assert ratio == (1.0, 1.0)  # the same answers: no doubt about the ratio, however small the suite
    doubled = ratio_interval([1.0] * 20 + [0.0] * 20, [1.0] * 10 + [0.0] * 30)
    assert doubled is not None and doubled[0] < 2.0 < doubled[1] and doubled[0] > 1.0
    assert ratio_interval([1.0, 1.0], [0.0, 0.0]) is None  # over a system that passes nothing


def test_stability_counts_cases_not_answers() -> None:
    lines = [line("a", True, repeat=r) for r in range(3)]
    lines += [line("b", r == 0, repeat=r) for r in range(3)]
    lines += [line("c", False, repeat=r) for r in range(3)]
    cases = per_case(lines, "shoplens")
    assert cases["b"].passed == 1 and cases["b"].runs == 3
    figures = stability(cases)
    assert figures["pass_rate"] == pytest.approx((1 + 1 / 3) / 3)
    assert figures["repeats"] == 3 and figures["always"] == 1 and figures["never"] == 1
    assert figures["sometimes"] == [("b", 1, 3)]


def test_compare_calls_a_difference_significant_only_when_the_intervals_part(tmp_path: Path) -> None:
    base = write_run(tmp_path / "a", [line(f"q{i}", i < 20) for i in range(40)])
    close = write_run(tmp_path / "b", [line(f"q{i}", i < 24) for i in range(40)])
    far = write_run(tmp_path / "c", [line(f"q{i}", i < 38) for i in range(40)])
    assert "+0.1 (within noise)" in compare(base, close)
    assert "+0.45 (significant)" in compare(base, far)
    assert verdict((0.1, 0.3), (0.29, 0.5)) == "within noise"


def test_a_run_with_repeats_asks_every_case_n_times_resumes_and_reports_stability(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Repeat 2 starts after repeat 1 has covered the suite; the report names the unstable case."""
    asked: list[str] = []

    class Flaky:
        def __init__(self, name: str, *args: Any) -> None:
            self.name = name

        def answer(self, case: Any) -> Outcome:
            asked.append(case.id)
            # "wobbly" is right the first time it is asked and wrong after
            tool = "query_metric" if case.id == "steady" or asked.count(case.id) == 1 else "run_sql"
            return Outcome(case=case.id, system=self.name, kind="answer", text="", tool=tool, seconds=0.1)

    monkeypatch.setattr(harness, "ShopLensSystem", Flaky)
    monkeypatch.setattr("assistant.embeddings.Encoder", lambda: None)
    suite_path = tmp_path / "s.yaml"
    suite_path.write_text(
        "name: s\ndataset: {demo_events: 2000, seed: 1}\ncases:\n"
        "  - {id: steady, question: q1, tools: [query_metric]}\n"
        "  - {id: wobbly, question: q2, tools: [query_metric]}\n"
    )
    run_dir = tmp_path / "run"
    settings = Settings(data_dir=tmp_path / "data")

    class Endpoint:
        model, engine, base_url = "fake-model", "fake", "http://127.0.0.1:9/v1"

    def run(repeats: int) -> list[dict[str, Any]]:
        return harness.run_suite(
            load_suite(suite_path),
            ["shoplens"],
            settings,
            run_dir,
            real_data=REAL,
            endpoint=Endpoint(),
            use_judge=False,
            repeats=repeats,
        )

    lines = run(2)
    assert asked == ["steady", "wobbly", "steady", "wobbly"]
    assert [(x["case"], x["repeat"], x["passed"]) for x in lines] == [
        ("steady", 0, True), ("wobbly", 0, True), ("steady", 1, True), ("wobbly", 1, False)
    ]  # fmt: skip
    assert len(run(2)) == 4 and len(asked) == 4  # resumed: nothing asked again
    assert len(run(3)) == 6 and asked[4:] == ["steady", "wobbly"]  # a third repeat adds one round
    assert json.loads((run_dir / "run.json").read_text())["repeats"] == 3
    figures = write_reports(run_dir)["shoplens"]
    assert figures["stable"] == 1 and figures["unstable"] == 1 and figures["repeats"] == 3
    assert figures["pass_rate"] == pytest.approx(4 / 6, abs=1e-4)
    report = (run_dir / "report.md").read_text()
    assert "| shoplens | wobbly | 1 of 3 |" in report
    assert "| wobbly (repeat 2) |" in report.replace("| shoplens ", "|")


def test_pooled_folders_of_one_suite_are_repeats_and_ratios_come_with_intervals(tmp_path: Path) -> None:
    first = [line(f"q{i}", i < 6) for i in range(10)] + [line(f"q{i}", i < 3, "plain-sql") for i in range(10)]
    second = [line(f"q{i}", i < 5) for i in range(10)] + [
        line(f"q{i}", i < 3, "plain-sql") for i in range(10)
    ]
    folders = [write_run(tmp_path / "r1", first), write_run(tmp_path / "r2", second)]
    figures = pool(folders)
    ours = figures["shoplens"]
    assert ours["cases"] == 10 and ours["answers"] == 20 and ours["repeats"] == 2
    assert ours["stable"] == 5 and ours["unstable"] == 1 and ours["pass_rate"] == pytest.approx(0.55)
    ratio, interval = ours["ratios"]["plain-sql"]
    assert ratio == pytest.approx(5.5 / 3) and interval[0] <= ratio <= interval[1]
    text = pool_markdown(figures)
    assert "| plain-sql | 1.83x (" in text
    assert "| cases passed every time / only sometimes | 5 / 1 | 3 / 0 |" in text
    # One run's report gives the same kind of ratio, on that run's cases
    assert "shoplens / plain-sql: 2.00x (" in ratio_line(first, summaries(first), "shoplens")


def test_pool_splits_wrong_declines_from_missed_ones(tmp_path: Path) -> None:
    declined = line("a", False)
    declined["outcome"]["kind"] = "refusal"  # the data answers it
    answered = line("b", False)
    answered["expected_kind"] = "refusal"  # it should have been declined
    right = line("c", True)
    right["expected_kind"], right["outcome"]["kind"] = "refusal", "refusal"
    error = line("d", True)  # a clear error where one was expected: no decline in it
    error["expected_kind"], error["outcome"]["kind"] = "error", "error"
    figures = pool([write_run(tmp_path / "r", [declined, answered, right, error])])["shoplens"]
    assert (figures["missed_declines"], figures["false_declines"]) == (1, 1)


def test_a_ratio_without_an_upper_bound_reads_at_least() -> None:
    from eval.stats import ratio_text

    assert ratio_text(19.0, (6.0, float("inf"))) == "19.00x (at least 6.00)"
    assert ratio_text(2.1, (1.4, 3.3)) == "2.10x (1.40–3.30)"
