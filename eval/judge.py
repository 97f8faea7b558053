"""The LLM judge for free-text answers, on another model than the one under test.

A model grading its own prose is lenient where it is wrong in the same way, so the judge runs on
a different packaged model: the 0.5B judges the 1.5B, the 1.5B judges anything else
(`judge_model` in the settings picks another). Code checks come first (eval.harness's
free_text_checks); the judge's verdict is one more check, and reports give how often it agrees
with the code checks where both ran.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from pydantic import BaseModel, Field

from assistant.llm.engines import Endpoint
from assistant.settings import Settings
from eval.scoring import CaseResult, Outcome
from eval.suite import Case
from tools.base import render

log = logging.getLogger(__name__)


class Judgement(BaseModel):
    passed: bool = Field(description="true if the answer meets the rubric")
    reason: str = Field(max_length=200)


def judge_model_for(under_test: str, settings: Settings) -> str:
    """The model that judges `under_test`: the settings' choice, else another packaged model."""
    from assistant.llm.models import DEFAULT_MODEL, SMALL_MODEL

    if settings.judge_model:
        return settings.judge_model
    return SMALL_MODEL if under_test == DEFAULT_MODEL else DEFAULT_MODEL


@contextmanager
def judge_endpoint(
    settings: Settings, under_test: Endpoint, progress: Callable[[str, float | None], None] | None = None
) -> Iterator[Endpoint]:
    """Where the judge asks. An external server is asked for the judge model if it serves it, else
    for any other model it serves, else (said in a warning) for the model under test; otherwise a
    second engine serves the judge model on the CPU for the run (llama.cpp: the judge asks a few
    questions per run, and a GPU is the model under test's)."""
    from assistant.llm.server import free_port, served_models, start_engine

    wanted = judge_model_for(under_test.model, settings)
    if under_test.engine == "external":
        served = served_models(under_test)
        other = wanted if wanted in served else next((m for m in served if m != under_test.model), None)
        if other is None:
            log.warning("the server serves no other model than %s: it judges itself", under_test.model)
        yield under_test.model_copy(update={"model": other or under_test.model})
        return
    judge_settings = settings.with_overrides(
        model=wanted, engine="llama.cpp", llm_port=free_port(settings.host)
    )
    with start_engine(judge_settings, progress) as running:
        yield running.endpoint


def judge(writer: Any, case: Case, outcome: Outcome, result: CaseResult) -> None:
    """The LLM judge, for free-text cases with a rubric; its verdict is one more check."""
    if not case.rubric or writer is None or outcome.kind != "answer":
        return
    facts = "\n".join(" | ".join(str(v) for v in r) for r in outcome.rows[:15]) or "(none)"
    prompt = render(
        resources.files("prompts").joinpath("judge.md").read_text(),
        question=case.question,
        rubric=case.rubric,
        facts=facts,
        answer=outcome.text,
    )
    try:
        verdict = writer.structured(Judgement, prompt)
    except Exception as exc:
        result.judge = {"error": str(exc)[:200]}
        return
    result.judge = {"pass": verdict.passed, "reason": verdict.reason}
    result.checks["judge"] = verdict.passed
    if not verdict.passed:
        result.reasons.append(f"judge: {verdict.reason}")
