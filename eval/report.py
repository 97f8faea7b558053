"""Reports of an eval run (JSON, markdown, HTML with charts) and the comparison of two runs."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from eval.harness import busy, read_results
from eval.scoring import CaseResult, summarize
from eval.stats import CaseStability, per_case, ratio, ratio_text, stability, verdict

FIGURES = [
    ("pass_rate", "cases passed", "{:.0%}"),
    ("interval", "95% interval (over cases)", "{0[0]:.0%}–{0[1]:.0%}"),
    ("stable", "cases passed in every repeat", "{}"),
    ("unstable", "cases passed in some repeats only", "{}"),
    ("tool_choice_accuracy", "tool-choice accuracy", "{:.0%}"),
    ("execution_accuracy", "execution accuracy", "{:.0%}"),
    ("answer_accuracy", "answer accuracy (numbers, contents)", "{:.0%}"),
    ("groundedness", "groundedness (numbers in results)", "{:.1%}"),
    ("refusal_correctness", "refusal correctness", "{:.0%}"),
    ("interpretation_matches", "interpretation matches the call", "{:.0%}"),
    ("left_out_flagged", "answers flagged: asked for but not computed", "{:.0%}"),
    ("left_out_wrong", "flagged answers that failed (the flag was right)", "{:.0%}"),
    ("pass_rate_terse", "passed: terse wording", "{:.0%}"),
    ("pass_rate_chatty", "passed: chatty wording", "{:.0%}"),
    ("pass_rate_typo", "passed: typo / unusual term", "{:.0%}"),
    ("all_wordings_right", "questions right in all 3 wordings", "{:.0%}"),
    ("free_text_checks", "free text: code checks", "{:.0%}"),
    ("judge_pass_rate", "free text: judge", "{:.0%}"),
    ("judge_agrees", "free text: judge agrees with code checks", "{:.0%}"),
    ("copy_fallback_rate", "copy: plain copy instead of the model's", "{:.0%}"),
    ("copy_repaired_rate", "copy: the model's, unsupported sentences dropped", "{:.0%}"),
    ("in_chinese_rate", "Chinese questions answered in Chinese", "{:.0%}"),
    ("translated_rate", "Chinese answers translated by the model", "{:.0%}"),
    ("errors", "errors", "{}"),
    ("p50_seconds", "p50 seconds", "{:.1f}"),
    ("p95_seconds", "p95 seconds", "{:.1f}"),
    ("tokens_per_second", "completion tokens/s", "{:.1f}"),
]


def summaries(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per system: the suite figures (eval.scoring.summarize) and, over cases, the pass rate's
    interval and how stable each case was across repeats (eval.stats)."""
    by_system: dict[str, list[CaseResult]] = {}
    for line in lines:
        by_system.setdefault(line["system"], []).append(CaseResult.model_validate(line))
    out = {}
    for system, results in by_system.items():
        cases = stability(per_case(lines, system))
        repeated = cases["repeats"] != 1
        out[system] = {
            **summarize(results),
            "interval": cases["interval"],
            "repeats": cases["repeats"],
            "stable": cases["always"] if repeated else None,
            "unstable": len(cases["sometimes"]) if repeated else None,
            "sometimes": cases["sometimes"],
        }
    return out


def ratio_line(lines: list[dict[str, Any]], figures: dict[str, dict[str, Any]], to: str) -> str:
    """Each other system's pass rate over `to`'s, on the same cases, with a 95% interval."""
    base = per_case(lines, to)
    parts = []
    for system in figures:
        if system == to:
            continue
        found = ratio(base, per_case(lines, system))
        if found is None:
            parts.append(f"{system} passes none of the cases (no ratio)")
            continue
        parts.append(f"{to} / {system}: {ratio_text(*found)}")
    return f"Pass-rate ratios on the same cases (95% intervals): {'; '.join(parts)}."


def _fmt(value: Any, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def machine_line(info: dict[str, Any]) -> str:
    """What else ran: the load averages before the engine started and after the last case."""
    start, end = info.get("load_at_start"), info.get("load_at_end")
    if not start:
        return "Machine load: not recorded."
    shown = "/".join(f"{v:.1f}" for v in start)
    cpu = f" ({info['cpu']})" if info.get("cpu") else ""
    text = f"Machine load (1/5/15-minute averages) on {info.get('cores', '?')} cores{cpu}: {shown} before the run"
    text += f", {'/'.join(f'{v:.1f}' for v in end)} after its last case" if end else ""
    if busy(start, info.get("cores")):
        text += (
            ". **The machine was busy when the run started: its timings are slower than a quiet machine's.**"
        )
    return text + "."


def judge_line(info: dict[str, Any]) -> str:
    """Which model judged the free text, and whether it is the one under test."""
    judge = info.get("judge_model")
    if not judge:
        return "LLM judge: not run."
    if judge == info.get("model"):
        return f"LLM judge: {judge}, **the model under test** (no other model was served)."
    return f"LLM judge: {judge} (not the model under test)."


def markdown(run_dir: Path) -> str:
    lines = read_results(run_dir)
    info = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else {}
    figures = summaries(lines)
    systems = list(figures)
    out = [
        f"# Eval run: {info.get('suite', run_dir.name)}",
        f"Model {info.get('model', '?')} on {info.get('engine', '?')}; {info.get('cases', '?')} cases; "
        f"dataset {info.get('dataset', {})}; started {info.get('started', '?')}.",
        machine_line(info),
        judge_line(info),
        "",
        "| | " + " | ".join(systems) + " |",
        "|---|" + "---|" * len(systems),
    ]
    for key, label, pattern in FIGURES:
        out.append(f"| {label} | " + " | ".join(_fmt(figures[s].get(key), pattern) for s in systems) + " |")
    if len(systems) > 1 and "shoplens" in figures:
        out += ["", ratio_line(lines, figures, "shoplens")]
    unstable = [(s, case) for s in systems for case in figures[s]["sometimes"]]
    if unstable:
        out += ["", "## Cases that passed only sometimes", "", "| system | case | passed |", "|---|---|---|"]
        out += [f"| {s} | {case} | {passed} of {runs} |" for s, (case, passed, runs) in unstable]
    out += ["", "## Failing cases", "", "| system | case | why |", "|---|---|---|"]
    for line in lines:
        if not line["passed"]:
            why = "; ".join(line["reasons"]) or "failed"
            repeat = f" (repeat {line['repeat'] + 1})" if line.get("repeat") else ""
            out.append(f"| {line['system']} | {line['case']}{repeat} | {why.replace('|', '/')[:300]} |")
    return "\n".join(out) + "\n"


def html_report(run_dir: Path) -> str:
    import plotly.graph_objects as go

    lines = read_results(run_dir)
    figures = summaries(lines)
    bars = go.Figure()
    keys = [k for k, _, p in FIGURES if p.startswith("{:") and "%" in p]
    for system, values in figures.items():
        bars.add_bar(
            name=system, x=[label for k, label, p in FIGURES if k in keys], y=[values.get(k) for k in keys]
        )
    bars.update_layout(title="Scores by system", yaxis_tickformat=".0%", barmode="group", height=420)
    latency = go.Figure()
    for system in figures:
        latency.add_box(
            name=system, y=[line["outcome"]["seconds"] for line in lines if line["system"] == system]
        )
    latency.update_layout(title="Seconds per case", height=360)
    rows = "".join(
        f"<tr><td>{html.escape(line['system'])}</td><td>{html.escape(line['case'])}</td>"
        f"<td>{'pass' if line['passed'] else 'FAIL'}</td><td>{html.escape('; '.join(line['reasons']))}</td>"
        f"<td>{html.escape(line['outcome']['text'][:300])}</td></tr>"
        for line in lines
    )
    # Charts carry plotly.js inline: the report opens offline.
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>ShopLens eval</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:4px;vertical-align:top;font-size:13px}</style></head><body>"
        f"<pre>{html.escape(markdown(run_dir).split('## Failing cases')[0])}</pre>"
        + bars.to_html(full_html=False, include_plotlyjs=True)
        + latency.to_html(full_html=False, include_plotlyjs=False)
        + "<h2>Cases</h2><table><tr><th>system</th><th>case</th><th>result</th><th>why</th><th>answer</th></tr>"
        + rows
        + "</table></body></html>"
    )


def write_reports(run_dir: Path) -> dict[str, dict[str, Any]]:
    figures = summaries(read_results(run_dir))
    (run_dir / "summary.json").write_text(json.dumps(figures, indent=2))
    (run_dir / "report.md").write_text(markdown(run_dir))
    (run_dir / "report.html").write_text(html_report(run_dir))
    return figures


def _moved(a: CaseStability, b: CaseStability) -> str:
    """A case that changed between two runs; with repeats, how often it passed in each."""
    return a.case if a.runs == b.runs == 1 else f"{a.case} ({a.passed}/{a.runs} → {b.passed}/{b.runs})"


def compare(run_a: Path, run_b: Path) -> str:
    """What got better and worse from run A to run B: figures side by side (the pass rate's change
    called significant only when the two 95% intervals do not overlap), then case by case."""
    a_lines, b_lines = read_results(run_a), read_results(run_b)
    a_fig, b_fig = summaries(a_lines), summaries(b_lines)
    out = [f"# {run_a.name} → {run_b.name}", ""]
    for system in [s for s in b_fig if s in a_fig]:
        out += [f"## {system}", "", "| | A | B | change |", "|---|---|---|---|"]
        for key, label, pattern in FIGURES:
            a, b = a_fig[system].get(key), b_fig[system].get(key)
            numeric = isinstance(a, int | float) and isinstance(b, int | float)
            change = f"{b - a:+.3g}" if numeric else ""
            if key == "pass_rate" and numeric:
                change += f" ({verdict(a_fig[system]['interval'], b_fig[system]['interval'])})"
            out.append(f"| {label} | {_fmt(a, pattern)} | {_fmt(b, pattern)} | {change} |")
        a_cases, b_cases = per_case(a_lines, system), per_case(b_lines, system)
        both = sorted(a_cases.keys() & b_cases.keys())
        fixed = [_moved(a_cases[c], b_cases[c]) for c in both if b_cases[c].share > a_cases[c].share]
        broken = [c for c in both if b_cases[c].share < a_cases[c].share]
        reasons = {
            line["case"]: line["reasons"]
            for line in b_lines
            if line["system"] == system and not line["passed"]
        }
        out += ["", f"Fixed ({len(fixed)}): {', '.join(fixed) or 'none'}"]
        out += [f"Broken ({len(broken)}):"] + [
            f"- {_moved(a_cases[c], b_cases[c])}: {'; '.join(reasons.get(c, []))}" for c in broken
        ]
        only = sorted(a_cases.keys() ^ b_cases.keys())
        if only:
            out.append(f"In one run only: {', '.join(only)}")
        out.append("")
    return "\n".join(out)
