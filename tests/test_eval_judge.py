"""The eval's LLM judge runs on another model than the one under test (eval/judge.py); its
agreement with the code checks is a reported figure. The real-model run is in
tests/test_agent_real.py (the eval smoke slice)."""

from __future__ import annotations

import logging

import pytest

from assistant.llm.engines import Capabilities, Endpoint
from assistant.llm.models import DEFAULT_MODEL, SMALL_MODEL
from assistant.settings import Settings
from eval.judge import judge_endpoint, judge_model_for
from eval.report import judge_line
from eval.scoring import CaseResult, Outcome, summarize


def test_the_small_model_judges_the_default_and_the_default_judges_the_rest() -> None:
    settings = Settings()
    assert judge_model_for(DEFAULT_MODEL, settings) == SMALL_MODEL
    assert judge_model_for(SMALL_MODEL, settings) == DEFAULT_MODEL
    assert judge_model_for("smollm2-135m", settings) == DEFAULT_MODEL
    assert (
        judge_model_for(DEFAULT_MODEL, settings.with_overrides(judge_model="smollm2-135m")) == "smollm2-135m"
    )


def _external(model: str) -> Endpoint:
    return Endpoint(
        base_url="http://127.0.0.1:9/v1",
        model=model,
        engine="external",
        device="remote",
        capabilities=Capabilities(schema_format="none"),
    )


@pytest.mark.parametrize(
    ("served", "judged_by"),
    [
        ([DEFAULT_MODEL, SMALL_MODEL], SMALL_MODEL),  # the judge model, when served
        ([DEFAULT_MODEL, "Qwen/Qwen2.5-7B-Instruct"], "Qwen/Qwen2.5-7B-Instruct"),  # else another one
        ([DEFAULT_MODEL], DEFAULT_MODEL),  # else the model under test, with a warning
    ],
)
def test_an_external_server_is_asked_for_another_model_it_serves(
    served: list[str], judged_by: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("assistant.llm.server.served_models", lambda endpoint: served)
    with caplog.at_level(logging.WARNING), judge_endpoint(Settings(), _external(DEFAULT_MODEL)) as endpoint:
        assert endpoint.model == judged_by and endpoint.base_url == "http://127.0.0.1:9/v1"
    assert ("judges itself" in caplog.text) == (judged_by == DEFAULT_MODEL)


def test_a_local_judge_is_a_second_engine_on_the_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """A llama.cpp engine of the judge model, on a port of its own, for the length of the run."""
    started: list[Settings] = []

    class Running:
        def __init__(self, settings: Settings) -> None:
            self.endpoint = _external(settings.model).model_copy(update={"engine": "llama.cpp"})

    from contextlib import contextmanager

    @contextmanager
    def fake_start(settings: Settings, progress=None):
        started.append(settings)
        yield Running(settings)

    monkeypatch.setattr("assistant.llm.server.start_engine", fake_start)
    settings = Settings(data_dir=tmp_path, engine="auto")
    under_test = _external(DEFAULT_MODEL).model_copy(update={"engine": "vllm", "device": "gpu"})
    with judge_endpoint(settings, under_test) as endpoint:
        assert endpoint.model == SMALL_MODEL
    (used,) = started
    assert used.model == SMALL_MODEL and used.engine == "llama.cpp" and used.llm_port != settings.llm_port


def test_reports_say_how_often_the_judge_agrees_with_the_code_checks() -> None:
    def graded(code: bool, judge: bool) -> CaseResult:
        outcome = Outcome(case="c", system="shoplens", kind="answer", text="", seconds=1.0)
        return CaseResult(outcome=outcome, expected_kind="answer", checks={"free_text": code, "judge": judge})

    figures = summarize([graded(True, True), graded(False, True), graded(False, False), graded(True, True)])
    assert figures["judge_agrees"] == 0.75
    assert judge_line({"model": DEFAULT_MODEL, "judge_model": SMALL_MODEL}).endswith(
        "(not the model under test)."
    )
    assert "**the model under test**" in judge_line({"model": DEFAULT_MODEL, "judge_model": DEFAULT_MODEL})
    assert judge_line({"model": DEFAULT_MODEL}) == "LLM judge: not run."
