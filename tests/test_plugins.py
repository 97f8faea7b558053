"""Plugins: an example package (tests/fixtures/example_plugin: a data format and a tool) is
installed the way pip installs one (a distribution with a `shoplens` entry point on sys.path),
found by the plugin manager, and both its format and its tool are used from the app: the file
loads through the Data tab, and the chat answers with the tool once the `tools` setting names it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant import plugins
from assistant.embeddings import Encoder
from assistant.settings import Settings
from assistant.warehouse.loaders import detect, loaders
from assistant.workspace import Workspace
from tools import ToolError, available_tools, build_tools
from tools.metrics import SemanticModel

from .test_agent_units import ENDPOINT, ScriptedModel, call

FIXTURE = Path(__file__).parent / "fixtures" / "example_plugin"
CLICKS = "ts,visitor,action,sku,amount\n" + "".join(
    f"2026-11-0{1 + i % 3} {10 + i % 5}:15:00,v{i % 7},{('look', 'bag', 'pay')[i % 3]},sku{i % 4},{5 + i}.0\n"
    for i in range(60)
)


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The example plugin, installed into a site folder on sys.path; forgotten afterwards."""
    site = tmp_path / "site"
    shutil.copytree(FIXTURE, site)
    monkeypatch.syspath_prepend(str(site))
    plugins.reset()
    yield
    monkeypatch.undo()
    plugins.reset()


def test_without_the_plugin_there_is_no_such_format_or_tool() -> None:
    plugins.reset()
    assert "clicklog" not in [loader.name for loader in loaders()]
    assert "busiest_hour" not in available_tools(SemanticModel.load())


def test_an_installed_plugin_adds_a_format_and_a_tool(installed: None, tmp_path: Path) -> None:
    names = [name for name, _ in plugins.manager().list_name_plugin()]
    assert names[: len(plugins.BUILTIN)] == list(plugins.BUILTIN) and "example" in names
    assert [loader.name for loader in loaders()][-1] == "clicklog"  # after the built-ins
    sample = tmp_path / "clicks.csv"
    sample.write_text(CLICKS)
    assert detect(sample).name == "clicklog"
    semantic = SemanticModel.load()
    assert "busiest_hour" in available_tools(semantic)
    # Offered to the model only when the setting names it: every tool costs prompt tokens.
    assert "busiest_hour" not in build_tools(semantic)
    chosen = build_tools(semantic, ["query_metric", "busiest_hour"])
    assert list(chosen) == ["query_metric", "busiest_hour"]
    with pytest.raises(ToolError, match="unknown tool 'nope'.*installed: query_metric"):
        build_tools(semantic, ["nope"])


def test_the_plugins_format_loads_and_its_tool_answers_in_the_chat(
    installed: None, tmp_path: Path, encoder: Encoder
) -> None:
    data = tmp_path / "data"
    builtin = list(build_tools(SemanticModel.load()))
    settings = Settings(data_dir=data, tools=[*builtin, "busiest_hour"], min_group_size=1)
    (data / "imports").mkdir(parents=True)
    (data / "imports" / "clicks.csv").write_text(CLICKS)
    from assistant.ui import App  # gradio: seconds to import, paid only here

    with Workspace(settings, ENDPOINT, encoder) as ws:
        app = App(ws)
        app.build()
        list(
            app.load(
                None,
                str(data / "imports" / "clicks.csv"),
                "auto-detect",
                "clicks",
                None,
                lambda *a, **k: None,
            )
        )
        assert ws.info("clicks").tables[0].rows == 60  # events
        assistant = ws.assistant("clicks")
        assistant.llm = ScriptedModel(replies=[call("busiest_hour", event_type="purchase")])
        assert (
            "- busiest_hour: the hour of the day with the most events of one type" in assistant.system_prompt
        )
        session = app._session(None)
        session.dataset = "clicks"
        final = list(app.respond("When do people pay the most?", [], session))[-1]
        texts = [m["content"] for m in final[app.chatbot] if isinstance(m["content"], str)]
        expected = ws.assistant("clicks").ctx.rows(
            "SELECT hour(event_time), count(*) FROM events WHERE event_type = 'purchase'"
            " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
        )[0]
        assert any(
            f"The busiest hour for purchase events is {expected[0]}:00 ({expected[1]} events)" in t
            for t in texts
        )
        answer = final[app.session].answers[-1]
        assert answer.tool_calls[-1].tool == "busiest_hour" and answer.table.rows == [list(expected)]


def test_a_plugins_command_joins_the_command_line(installed: None, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    cli = typer.Typer()
    cli.command("version")(lambda: None)  # a group with one command of its own, like `shoplens`
    plugins.manager().hook.register_commands(cli=cli)
    target = tmp_path / "sample.csv"
    result = CliRunner().invoke(cli, ["clicklog-sample", str(target), "--rows", "12"])
    assert result.exit_code == 0, result.output
    assert detect(target).name == "clicklog" and len(target.read_text().splitlines()) == 13
