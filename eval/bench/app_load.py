"""Load test of the app on loopback: many chat sessions at once against the real model.

    python -m eval.bench.app_load [--sessions 20] [--minutes 3] [--url http://127.0.0.1:7860/]

Without --url it starts `launch.py` on a fresh data dir (a 30k-event demo shop; the model from
`--models`, default ~/.shoplens/models). Two phases in one run, side by side:
  baseline   one session asking the questions one after another (the latency of a quiet app);
  load       --sessions sessions, each its own Gradio session (own state), asking in a loop
             for --minutes.
Every answer is checked: it must come back (no error, no timeout), and the session's chat must
hold only its own questions, the last one answered (nothing lost, nothing mixed between
sessions). Prints answers/min, p50/p95 latency, error rate and mixed answers per phase.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

QUESTIONS = [
    "What was revenue in the last 7 days?",
    "How many orders did we get in the last 30 days?",
    "Which categories bring the most revenue?",
    "What is the conversion rate by device?",
    "Show the funnel from view to purchase",
]
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Phase:
    name: str
    sessions: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mixed: int = 0
    attempts: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def message_text(message: dict) -> str:
    """A chat message's text: a string, or Gradio's list of content parts (only the text ones)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""  # a chart or a file


def check_history(history: list[dict], asked: list[str]) -> tuple[bool, str | None]:
    """(mixed or lost, the error shown): the chat must hold exactly this session's questions, and
    the last one must have a written answer after it."""
    users = [message_text(m) for m in history if m.get("role") == "user"]
    last = max((i for i, m in enumerate(history) if m.get("role") == "user"), default=-1)
    replies = [
        message_text(m)
        for m in history[last + 1 :]
        if m.get("role") == "assistant" and not (m.get("metadata") or {}).get("title") and message_text(m)
    ]
    error = next((r for r in replies if r.startswith("Error:")), None)
    return users != asked or not replies, error


def session_loop(url: str, index: int, phase: Phase, deadline: float, max_questions: int | None) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)  # one client = one Gradio session, with its own state
    history: list = []
    asked: list[str] = []
    turn = 0
    while time.monotonic() < deadline and (max_questions is None or turn < max_questions):
        question = f"{QUESTIONS[(index + turn) % len(QUESTIONS)]}"
        turn += 1
        with phase.lock:
            phase.attempts += 1
        started = time.perf_counter()
        try:
            outputs = client.predict(question, history, api_name="/ask")
        except Exception as exc:  # a lost answer: the request failed or timed out
            with phase.lock:
                phase.errors.append(f"session {index}: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        seconds = time.perf_counter() - started
        history = outputs[0]
        asked.append(question)
        wrong, error = check_history(history, asked)
        with phase.lock:
            phase.latencies.append(seconds)
            phase.mixed += wrong
            if error:
                phase.errors.append(f"session {index}: {error[:120]}")


def run_phase(url: str, phase: Phase, minutes: float | None, per_session: int | None) -> Phase:
    deadline = time.monotonic() + (minutes * 60 if minutes else 10**9)
    started = time.perf_counter()
    threads = [
        threading.Thread(target=session_loop, args=(url, i, phase, deadline, per_session), daemon=True)
        for i in range(phase.sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - started
    return phase


def start_app(models: Path, port: int) -> tuple[subprocess.Popen, str]:
    data = Path(tempfile.mkdtemp(prefix="shoplens-load-"))
    (data / "models").symlink_to(models)
    log = (data / "launch.log").open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPLENS_")}
    env["SHOPLENS_UI_CONCURRENCY"] = os.environ.get("SHOPLENS_UI_CONCURRENCY", "4")
    process = subprocess.Popen(
        [sys.executable, "launch.py", "--data-dir", str(data), "--demo-events", "30000", "--port", str(port),
         "--llm-port", str(port + 1)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        found = re.search(r"ShopLens is running: open (\S+)", (data / "launch.log").read_text())
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(1)
    process.kill()
    raise SystemExit(f"the app did not start:\n{(data / 'launch.log').read_text()[-2000:]}")


def report(phases: list[Phase]) -> None:
    print(f"{'phase':<10} {'sessions':>8} {'answers':>8} {'answers/min':>12} {'p50 s':>7} {'p95 s':>7} "
          f"{'errors':>7} {'error %':>8} {'mixed':>6}")  # fmt: skip
    for p in phases:
        n = len(p.latencies)
        lat = sorted(p.latencies)
        p95 = lat[min(n - 1, int(0.95 * n))] if n else float("nan")
        print(
            f"{p.name:<10} {p.sessions:>8} {n:>8} {60 * n / p.seconds:>12.2f} "
            f"{statistics.median(lat) if n else float('nan'):>7.1f} {p95:>7.1f} {len(p.errors):>7} "
            f"{100 * len(p.errors) / max(p.attempts, 1):>7.1f}% {p.mixed:>6}"
        )
    for p in phases:
        for error in p.errors[:5]:
            print(f"  {p.name}: {error}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an app already running (default: start one)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--baseline-questions", type=int, default=3)
    parser.add_argument("--models", type=Path, default=Path("~/.shoplens/models").expanduser())
    parser.add_argument("--port", type=int, default=7870)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    process = None
    url = args.url
    if url is None:
        process, url = start_app(args.models, args.port)
    try:
        baseline = run_phase(url, Phase("baseline", 1), None, args.baseline_questions)
        load = run_phase(url, Phase("load", args.sessions), args.minutes, None)
        report([baseline, load])
    finally:
        if process is not None:
            process.terminate()
            process.wait(60)


if __name__ == "__main__":
    main()
