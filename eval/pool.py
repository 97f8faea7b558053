"""Figures pooled over several run folders: one suite per data set, one table.

The blind suites are five files (one per data set); a reader wants one pass rate per system, with
its uncertainty, and where the misses are: by question shape (the suites' tags), by wording, and
per data set. `shoplens eval pool RUN_DIR ...` prints it. Folders of the same suite pool as
repeats: each case counts once, with the share of its answers that passed (eval.stats).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from eval.harness import read_results
from eval.scoring import DECLINES, WORDINGS
from eval.stats import per_case, ratio, ratio_text, stability
from eval.suite import SuiteError, load_suite

# Tags that say how a case is worded or which collection it belongs to, not what it asks.
NOT_SHAPES = {"blind", *WORDINGS}


def _tags(run_dir: Path) -> tuple[str, dict[str, list[str]]]:
    """The run's suite name and each case's tags (empty when the suite file is gone)."""
    info = json.loads((run_dir / "run.json").read_text())
    try:
        suite = load_suite(info["suite"])
    except SuiteError:
        return info["suite"], {}
    return suite.name, {c.id: c.tags for c in suite.cases}


def pool(run_dirs: list[Path]) -> dict[str, dict[str, Any]]:
    """Per system: cases, passed, pass rate and its interval, refusal correctness, seconds,
    pass rate per wording, questions right in all wordings, per shape tag and per suite."""
    lines: list[tuple[str, dict[str, list[str]], dict[str, Any]]] = []
    for run_dir in run_dirs:
        suite, tags = _tags(run_dir)
        lines += [(suite, tags, {**line, "suite": suite}) for line in read_results(run_dir)]
    by_system: dict[str, list[tuple[str, list[str], dict[str, Any]]]] = defaultdict(list)
    for suite, tags, line in lines:
        by_system[line["system"]].append((suite, tags.get(line["case"], []), line))
    out: dict[str, dict[str, Any]] = {}
    for system, rows in by_system.items():
        cases = stability(per_case([r[2] for r in rows], system))
        seconds = sorted(r[2]["outcome"]["seconds"] for r in rows)
        declines = [
            r[2]["checks"].get("kind", False)
            for r in rows
            if r[2]["expected_kind"] != "answer" or r[2]["outcome"]["kind"] in DECLINES
        ]
        figures: dict[str, Any] = {
            "answers": len(rows),
            "cases": cases["always"] + cases["never"] + len(cases["sometimes"]),
            "passed": sum(r[2]["passed"] for r in rows),
            "pass_rate": cases["pass_rate"],
            "interval": cases["interval"],
            "repeats": cases["repeats"],
            "stable": cases["always"],
            "unstable": len(cases["sometimes"]),
            "refusal_correctness": sum(declines) / len(declines) if declines else None,
            # The two ways to get declining wrong: answering what should be declined, and
            # declining what the data answers.
            "missed_declines": sum(
                r[2]["expected_kind"] in DECLINES and r[2]["outcome"]["kind"] not in DECLINES for r in rows
            ),
            "false_declines": sum(
                r[2]["expected_kind"] not in DECLINES and r[2]["outcome"]["kind"] in DECLINES for r in rows
            ),
            "p50_seconds": statistics.median(seconds),
            "p95_seconds": seconds[min(len(seconds) - 1, math.ceil(0.95 * len(seconds)) - 1)],
        }
        questions: dict[tuple[str, str], dict[str, bool]] = defaultdict(dict)
        shapes: dict[str, list[bool]] = defaultdict(list)
        suites: dict[str, list[bool]] = defaultdict(list)
        for suite, case_tags, line in rows:
            stem, _, wording = line["case"].rpartition("-")
            if wording in WORDINGS:
                questions[(suite, stem)][wording] = line["passed"]
            for tag in case_tags:
                if tag not in NOT_SHAPES:
                    shapes[tag].append(line["passed"])
            suites[suite].append(line["passed"])
        for wording in WORDINGS:
            said = [q[wording] for q in questions.values() if wording in q]
            figures[f"pass_rate_{wording}"] = sum(said) / len(said) if said else None
        complete = [q for q in questions.values() if len(q) == len(WORDINGS)]
        figures["all_wordings_right"] = (
            sum(all(q.values()) for q in complete) / len(complete) if complete else None
        )
        figures["shapes"] = {tag: (sum(v), len(v)) for tag, v in sorted(shapes.items())}
        figures["suites"] = {name: (sum(v), len(v)) for name, v in sorted(suites.items())}
        out[system] = figures
    all_lines = [r[2] for r in lines]
    for system, figures in out.items():
        mine = per_case(all_lines, system)
        figures["ratios"] = {
            other: ratio(mine, per_case(all_lines, other)) for other in out if other != system
        }
    return out


def markdown(figures: dict[str, dict[str, Any]]) -> str:
    """The pooled figures as markdown tables, systems side by side."""
    systems = list(figures)

    def pct(value: float | None) -> str:
        return "–" if value is None else f"{value:.0%}"

    def share(pair: tuple[int, int] | None) -> str:
        return "–" if not pair else f"{pair[0]}/{pair[1]} ({pair[0] / pair[1]:.0%})"

    out = ["| | " + " | ".join(systems) + " |", "|---" * (len(systems) + 1) + "|"]
    rows = [
        ("answers passed", lambda f: f"{f['passed']}/{f['answers']} ({f['passed'] / f['answers']:.0%})"),
        (
            "pass rate over cases, 95% interval",
            lambda f: f"{f['pass_rate']:.0%} ({f['interval'][0]:.0%}–{f['interval'][1]:.0%})",
        ),
        ("answers per case", lambda f: str(f["repeats"])),
        ("cases passed every time / only sometimes", lambda f: f"{f['stable']} / {f['unstable']}"),
        ("refusal correctness", lambda f: pct(f["refusal_correctness"])),
        ("missed declines / false declines", lambda f: f"{f['missed_declines']} / {f['false_declines']}"),
        *[(f"passed: {w} wording", lambda f, w=w: pct(f[f"pass_rate_{w}"])) for w in WORDINGS],
        ("questions right in all 3 wordings", lambda f: pct(f["all_wordings_right"])),
        ("p50 / p95 seconds", lambda f: f"{f['p50_seconds']:.1f} / {f['p95_seconds']:.1f}"),
    ]
    for label, cell in rows:
        out.append(f"| {label} | " + " | ".join(cell(figures[s]) for s in systems) + " |")
    if "shoplens" in figures and len(systems) > 1:
        out += ["", "| shoplens's pass rate over | ratio (95% interval) |", "|---|---|"]
        for other, ratio in figures["shoplens"]["ratios"].items():
            if ratio is None:
                out.append(f"| {other} | – ({other} passes no case) |")
            else:
                out.append(f"| {other} | {ratio_text(*ratio)} |")
    for key, title in (("suites", "by data set"), ("shapes", "by question shape")):
        names = sorted({n for s in systems for n in figures[s][key]})
        out += ["", f"| {title} | " + " | ".join(systems) + " |", "|---" * (len(systems) + 1) + "|"]
        for name in names:
            out.append(f"| {name} | " + " | ".join(share(figures[s][key].get(name)) for s in systems) + " |")
    return "\n".join(out) + "\n"
