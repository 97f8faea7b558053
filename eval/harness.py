"""The eval harness: run a suite's cases through one or more systems, score them, keep the results.

Systems, all on the same model engine and the same read-only warehouse:
- `shoplens`: the assistant as shipped;
- `no-metrics`: the assistant without its metrics layer (query_metric, compare_periods, funnel,
  cohort_retention): SQL and the insight tools only (ablation);
- `no-examples`: the assistant without retrieved solved examples (ablation);
- `langchain-sql`: LangChain's SQL agent (`create_sql_agent` + `SQLDatabaseToolkit`), tool calling
  on vLLM, ReAct on llama.cpp;
- `plain-sql`: the simplest peer, what a user does with a local model and no framework: the
  schema with its column comments and the question, one completion, the SQL run as written.

A run is a folder: `results.jsonl` gets one line per (system, case) as each finishes, so an
interrupted run resumes where it stopped; `summary.json`, `report.md` and `report.html` are
written at the end (eval/report.py).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from assistant.llm.build_flags import cpu_flags
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse, refresh_views
from eval.judge import judge, judge_endpoint
from eval.scoring import CaseResult, Outcome, score
from eval.suite import Case, Dataset, Suite
from eval.systems import systems as installed_systems
from tools import build_tools, groups
from tools.metrics import SemanticModel

log = logging.getLogger(__name__)

Progress = Callable[[str, float | None], None]


class RunInfo(BaseModel):
    suite: str
    systems: list[str]
    model: str
    engine: str
    dataset: dict[str, Any]
    started: str
    cases: int
    limit: int | None = None
    notes: list[str] = Field(default_factory=list)
    cores: int | None = None
    # The CPU's model and vector width: the same model answers at very different speeds by CPU.
    cpu: str | None = None
    # The 1/5/15-minute load averages before the engine started and after the last case: what
    # else ran on the machine, so that the timings can be read (issue: latency that means something).
    load_at_start: list[float] | None = None
    load_at_end: list[float] | None = None
    repeats: int = 1  # each case asked this many times (`--repeats`): per-case stability
    judge_model: str | None = None  # the model the LLM judge ran on (None: no judge in the run)


def prepare_warehouse(
    dataset: Dataset, settings: Settings, real_data: Path, progress: Progress | None = None
) -> Settings:
    """Settings pointing at the dataset's warehouse, built once under `<data dir>/eval-data/`."""
    from assistant.warehouse.demo import generate
    from assistant.warehouse.load import load_file

    if dataset.warehouse:
        path = Path(dataset.warehouse).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"no warehouse at {path}")
        return settings.with_overrides(data_dir=path.parent, warehouse=path.stem, database_url=None)
    folder = settings.data_dir / "eval-data" / dataset.key()
    target = settings.with_overrides(data_dir=folder, warehouse="shop", database_url=None)
    done = folder / "ready"
    if done.exists():
        refresh_views(target)
        return target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shop.duckdb").unlink(missing_ok=True)
    with Warehouse(target) as writer:
        writer.ensure_schema()
        if dataset.demo_events is not None:
            generate(writer, dataset.demo_events, seed=dataset.seed, progress=progress)
        for name in dataset.files:
            path = Path(name) if Path(name).is_absolute() else real_data / name
            load_file(writer, path, progress=progress)
    done.write_text("built\n")
    return target


class ShopLensSystem:
    """The assistant (or an ablation of it) answering a case, conversation and all."""

    def __init__(
        self, name: str, settings: Settings, warehouse: Warehouse, endpoint: Any, encoder: Any
    ) -> None:
        from assistant.agent import Assistant

        options: dict[str, Any] = {}
        if name == "no-metrics":
            options["without_tools"] = groups(
                build_tools(SemanticModel.load(settings.metrics_file)), "metrics"
            )
        if name == "no-examples":
            options["examples"] = []
        self.name = name
        self.assistant = Assistant.on_endpoint(settings, warehouse, endpoint, encoder, **options)
        self.assistant.warm_up()  # as the app does at start: no case pays for the system prompt

    def answer(self, case: Case) -> Outcome:
        from assistant.answer import Conversation
        from assistant.grounding import numbers_in

        conversation = Conversation()
        for earlier in case.before:
            self.assistant.ask(earlier, conversation)
        started = time.perf_counter()
        answer = self.assistant.ask(case.question, conversation)
        seconds = time.perf_counter() - started
        ran = [c for c in answer.tool_calls if not c.error]
        asked = {n for _, n, _, _ in numbers_in(case.question)}
        return Outcome(
            case=case.id,
            system=self.name,
            kind=answer.kind,
            text=answer.text,
            # The last call that ran; for a clear error (an unknown user), the call that raised it.
            tool=ran[-1].tool if ran else (answer.tool_calls[-1].tool if answer.tool_calls else None),
            tool_calls=[c.model_dump() for c in answer.tool_calls],
            sql=answer.sql,
            columns=answer.table.columns if answer.table else [],
            rows=answer.table.rows if answer.table else [],
            ungrounded=answer.ungrounded_numbers,
            interpretation=answer.interpretation,
            read_as=answer.read_as,
            interpretation_matches=self._interpretation_matches(answer, ran),
            left_out=answer.left_out,
            numbers_stated=sum(1 for _, n, _, _ in numbers_in(answer.text) if n not in asked)
            if answer.kind == "answer"
            else 0,
            seconds=round(seconds, 3),
            tokens=answer.tokens,
            error=answer.text if answer.kind == "error" else None,
            notes=answer.notes,
        )

    # Tools whose answer is prose a model wrote: running them again would not be a check.
    _PROSE = frozenset({"write_marketing_copy", "explain_recommendation"})

    def _interpretation_matches(self, answer: Any, ran: list[Any]) -> bool | None:
        """Run the last call again: the interpretation it gives must be the one the answer showed."""
        if answer.kind != "answer" or not ran or ran[-1].tool in self._PROSE:
            return None
        call = ran[-1]
        again = self.assistant.tools[call.tool](self.assistant.ctx, call.arguments)
        return answer.interpretation in (again.interpretation, again.zh and again.zh.interpretation)


DECLINES = re.compile(
    r"\b(can ?not|can't|unable|don't know|do not know|no (data|information|way)|not (available|possible|"
    r"enough|in the data)|isn't (available|possible)|does not (contain|have|include))\b",
    re.IGNORECASE,
)


class LangChainSqlSystem:
    """LangChain's SQL agent (`create_sql_agent` with its SQLDatabaseToolkit) on the same model
    and warehouse, in the best mode the engine allows: tool calling where the server returns
    `auto` tool calls (vLLM), else ReAct over plain text (llama.cpp's server)."""

    name = "langchain-sql"

    def __init__(self, settings: Settings, warehouse: Warehouse, endpoint: Any) -> None:
        from langchain_community.agent_toolkits import create_sql_agent
        from langchain_community.utilities import SQLDatabase

        from assistant.llm.client import chat_model

        self.warehouse = warehouse
        database = SQLDatabase(
            warehouse.engine,
            metadata=baseline_metadata(warehouse),
            include_tables=["events", "products", "users", "orders", "sessions", "daily_metrics"],
            view_support=True,
            lazy_table_reflection=True,
            sample_rows_in_table_info=2,
        )
        self.mode = "tool-calling" if endpoint.capabilities.auto_tool_calls else "zero-shot-react-description"
        log.info("langchain-sql runs as a %s agent on %s", self.mode, endpoint.engine)
        self.executor = create_sql_agent(
            chat_model(endpoint, settings, max_tokens=400),
            db=database,
            agent_type=self.mode,
            max_iterations=8,
            max_execution_time=240,
            agent_executor_kwargs={"return_intermediate_steps": True, "handle_parsing_errors": True},
        )

    def answer(self, case: Case) -> Outcome:
        question = asked_alone(case)
        started = time.perf_counter()
        error = None
        try:
            result = self.executor.invoke({"input": question})
            steps, text = result.get("intermediate_steps", []), str(result.get("output", ""))
        except Exception as exc:  # gave up (iteration/time limit) or crashed
            steps, text, error = [], "", f"{type(exc).__name__}: {exc}"[:300]
        seconds = time.perf_counter() - started
        queries = [
            a.tool_input if isinstance(a.tool_input, str) else a.tool_input.get("query", "")
            for a, observation in steps
            if a.tool == "sql_db_query" and not str(observation).startswith("Error")
        ]
        columns: list[str] = []
        rows: list[list[Any]] = []
        if queries:
            try:
                with self.warehouse.engine.connect() as conn:
                    cursor = conn.exec_driver_sql(queries[-1])
                    columns, rows = list(cursor.keys()), [list(r) for r in cursor.fetchmany(1000)]
            except Exception as exc:
                error = f"its last query fails when re-run: {exc}"[:300]
        # Without a query, only words that decline count as declining; "the margin can be found in
        # the orders table" is an answer from nowhere, not a refusal.
        declined = not queries and not error and bool(DECLINES.search(text))
        return Outcome(
            case=case.id,
            system=self.name,
            kind="error" if error and not queries else ("refusal" if declined else "answer"),
            text=text or (error or ""),
            tool="run_sql" if queries else None,
            tool_calls=[{"tool": a.tool, "arguments": {"input": str(a.tool_input)[:500]}} for a, _ in steps],
            sql=queries[-1] if queries else None,
            columns=columns,
            rows=rows,
            seconds=round(seconds, 3),
            error=error,
        )


class PlainSqlSystem:
    """The schema with column comments and the question, one completion, the SQL executed."""

    name = "plain-sql"
    PROMPT = (
        "{schema}\n\nThe data runs from {first} to {last} (treat {last} as today). Event types: {types}.\n\n"
        "Question: {question}\n\nWrite one DuckDB SQL query over these tables that answers the question."
        " Reply with the SQL only, in a ```sql block. If these tables cannot answer it, reply: CANNOT ANSWER."
    )

    def __init__(self, settings: Settings, warehouse: Warehouse, endpoint: Any) -> None:
        from assistant.llm.client import chat_model
        from tools.base import read_facts

        self.settings = settings
        self.warehouse = warehouse
        self.llm_endpoint = endpoint
        self.llm = chat_model(endpoint, settings, max_tokens=300)
        facts = read_facts(warehouse)
        self.context = {
            "schema": plain_schema(warehouse.engine.dialect),
            "first": facts.first_day,
            "last": facts.last_day,
            "types": ", ".join(facts.event_types),
        }
        self._warm_up()

    def _warm_up(self) -> None:
        """Read the schema part of the prompt once, as ShopLens reads its system prompt."""
        from langchain_core.messages import HumanMessage

        from assistant.llm.client import chat_model

        try:
            chat_model(self.llm_endpoint, self.settings, max_tokens=1).invoke(
                [HumanMessage(self.PROMPT.format(question="", **self.context))]
            )
        except Exception as exc:
            log.warning("plain-sql warm-up failed: %s", exc)

    def answer(self, case: Case) -> Outcome:
        from langchain_core.messages import HumanMessage

        question = asked_alone(case)
        started = time.perf_counter()
        tokens = {"prompt": 0, "completion": 0}
        columns: list[str] = []
        rows: list[list[Any]] = []
        error = sql = None
        try:
            reply = self.llm.invoke([HumanMessage(self.PROMPT.format(question=question, **self.context))])
            usage = reply.usage_metadata or {}
            tokens = {"prompt": usage.get("input_tokens", 0), "completion": usage.get("output_tokens", 0)}
            text = str(reply.content)
        except Exception as exc:
            text, error = "", f"{type(exc).__name__}: {exc}"[:300]
        declined = "CANNOT ANSWER" in text.upper() and "SELECT" not in text.upper()
        if not error and not declined:
            sql = extract_sql(text)
            try:
                columns, rows = run_as_written(self.warehouse, self.settings, sql)
            except Exception as exc:  # the peer's own SQL failed: its failure, reported as such
                error = query_failure(exc)
        if not declined and error is None:
            # What its user sees is the result table: state it the way ShopLens states a free
            # SQL result, so that "the text states the number" measures the same for both.
            from tools.narrate import table_sentence

            text = table_sentence(columns, [tuple(r) for r in rows])
        return sql_outcome(
            case,
            self.name,
            started,
            kind="refusal" if declined else ("error" if error else "answer"),
            text=text if error is None else error,
            sql=sql,
            columns=columns,
            rows=rows,
            error=error,
            tokens=tokens,
        )


def asked_alone(case: Case) -> str:
    """The case's question with the turns before it, for a system without conversation memory."""
    return " ".join([*case.before, case.question])


def run_as_written(warehouse: Warehouse, settings: Settings, sql: str) -> tuple[list[str], list[list[Any]]]:
    """A peer's query as written (no guard), on the locked-down read-only connection, with the
    query limits of the settings."""
    from tools.sql import run_bounded

    columns, rows = run_bounded(warehouse, settings, sql, settings.query_row_limit)
    return columns, [list(r) for r in rows]


def query_failure(exc: Exception) -> str:
    """A peer's own query failing, as its outcome's error: the database's first line."""
    return f"its query failed: {str(getattr(exc, 'orig', exc)).splitlines()[0]}"[:300]


def sql_outcome(
    case: Case,
    system: str,
    started: float,
    *,
    kind: str,
    text: str,
    sql: str | None,
    columns: list[str],
    rows: list[list[Any]],
    error: str | None,
    tokens: dict[str, int] | None = None,
) -> Outcome:
    """The outcome of a peer that answers with a query of its own: that query as its one
    run_sql call, timed from `started` (time.perf_counter)."""
    return Outcome(
        case=case.id,
        system=system,
        kind=kind,
        text=text,
        tool="run_sql" if sql else None,
        tool_calls=[{"tool": "run_sql", "arguments": {"query": sql}}] if sql else [],
        sql=sql,
        columns=columns,
        rows=rows,
        seconds=round(time.perf_counter() - started, 3),
        tokens=tokens or {},
        error=error,
    )


def plain_schema(dialect: Any = None) -> str:
    """The warehouse's tables and views as CREATE statements with each column's comment, the
    types as the warehouse's dialect names them."""
    from assistant.warehouse import schema

    blocks = []
    for table in schema.TABLES:
        if table.name in ("loads", "rejected_rows"):
            continue
        lines = [f"  {c.name} {c.type.compile(dialect=dialect)}, -- {c.comment}" for c in table.columns]
        blocks.append(f"CREATE TABLE {table.name} ( -- {table.comment or ''}\n" + "\n".join(lines) + "\n);")
    for view in schema.VIEWS:
        lines = [f"  {name}, -- {doc}" for name, doc in view.columns.items()]
        blocks.append(f"CREATE VIEW {view.name} ( -- {view.comment}\n" + "\n".join(lines) + "\n);")
    return "\n".join(blocks)


def extract_sql(text: str) -> str:
    """The SQL in a reply: a ```sql block, else any fenced block, else the text from its SELECT/WITH."""
    fenced = re.search(r"```(?:sql)?\s*(.*?)```", text, re.DOTALL | re.IGNORECASE)
    if fenced:
        return fenced.group(1).strip().rstrip(";")
    start = re.search(r"\b(WITH|SELECT)\b", text, re.IGNORECASE)
    return (text[start.start() :] if start else text).strip().rstrip(";")


def baseline_metadata(warehouse: Warehouse) -> Any:
    """The warehouse's tables and views as SQLAlchemy metadata, for LangChain's SQLDatabase.

    SQLDatabase reflects the schema with a PostgreSQL-catalog query DuckDB cannot answer; handing
    it the tables (and the views, described by DuckDB) skips that, and it sees the same schema."""
    import sqlalchemy as sa

    from assistant.warehouse import schema

    metadata = sa.MetaData()
    for table in schema.TABLES:
        if table.name not in ("loads", "rejected_rows"):
            table.to_metadata(metadata)
    types = {
        "VARCHAR": sa.String,
        "DOUBLE": sa.Double,
        "BIGINT": sa.BigInteger,
        "INTEGER": sa.Integer,
        "HUGEINT": sa.BigInteger,
        "BOOLEAN": sa.Boolean,
        "DATE": sa.Date,
        "TIMESTAMP": sa.DateTime,
    }
    with warehouse.engine.connect() as conn:
        for view in schema.VIEWS:
            columns = conn.exec_driver_sql(f"DESCRIBE {view.name}").fetchall()
            sa.Table(
                view.name,
                metadata,
                *[sa.Column(name, types.get(kind.split("(")[0], sa.String)) for name, kind, *_ in columns],
            )
    return metadata


def free_text_checks(system: Any, outcome: Outcome, result: CaseResult) -> None:
    """Code checks on prose the tools wrote: copy against its facts, explanations against evidence."""
    if outcome.kind != "answer" or outcome.tool not in ("write_marketing_copy", "explain_recommendation"):
        return
    if outcome.tool == "write_marketing_copy":
        ctx = system.assistant.ctx
        from tools.copy import check_copy, copy_words

        call = next((c["arguments"] for c in reversed(outcome.tool_calls)), {})
        limit = copy_words(call.get("length", "short"), call.get("channel", "email"), call.get("variants", 1))
        brands = {
            r[0].lower() for r in ctx.rows("SELECT DISTINCT brand FROM products WHERE brand IS NOT NULL")
        }
        problems = check_copy(outcome.text, [tuple(r) for r in outcome.rows], limit, brands)
    elif outcome.tool == "explain_recommendation":
        from tools.recommend import unsupported_claims

        user = next((c["arguments"].get("user_id", "") for c in reversed(outcome.tool_calls)), "")
        problems = unsupported_claims(outcome.text, [tuple(r) for r in outcome.rows], {}, user)
    else:
        return
    result.checks["free_text"] = not problems
    if problems:
        result.reasons.append("free text: " + "; ".join(problems))


def read_results(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "results.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:  # a line cut off by a crash: that case runs again
            continue
    return rows


def gold_rows(warehouse: Warehouse, sql: str) -> list[tuple]:
    with warehouse.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql).fetchall()]


@contextmanager
def _engine(settings: Settings, endpoint: Any = None) -> Iterator[Any]:
    if endpoint is not None:
        yield endpoint
        return
    from assistant.llm.server import start_engine

    with start_engine(settings) as running:
        yield running.endpoint


@contextmanager
def _judging(wanted: bool, settings: Settings, under_test: Any, progress: Progress) -> Iterator[Any]:
    """The judge's writer, on another model than the one under test (eval.judge), or None. The
    user's settings, not a dataset's: the judge model is pulled into the usual model folder."""
    if not wanted:
        yield None
        return
    from assistant.llm.client import Writer, chat_model

    with judge_endpoint(settings, under_test, progress) as endpoint:
        yield Writer(chat_model(endpoint, settings, max_tokens=200), endpoint)


def _check_systems(systems: list[str], factories: dict[str, Any]) -> None:
    unknown = [s for s in systems if s not in factories]
    if unknown:
        raise ValueError(f"unknown system {unknown[0]!r}; systems: {', '.join(factories)}")
    if "langchain-sql" in systems and importlib.util.find_spec("langchain_community") is None:
        raise ValueError(
            "the langchain-sql baseline needs LangChain's community package: "
            "pip install -e '.[eval]' (make install does this)"
        )


def _resumed(run_dir: Path) -> set[tuple[str, str, int]]:
    """The (system, case, repeat) answers a run folder already holds; a line a crash cut off is
    dropped (it would swallow the next one), so that case runs again."""
    previous = read_results(run_dir)
    if previous or (run_dir / "results.jsonl").exists():
        partial = run_dir / "results.jsonl.tmp"
        partial.write_text("".join(json.dumps(r, default=str) + "\n" for r in previous))
        partial.replace(run_dir / "results.jsonl")
    return {(r["system"], r["case"], r.get("repeat", 0)) for r in previous}


def _write_info(run_dir: Path, suite: Suite, running: Any, **fields: Any) -> None:
    """run.json: what ran (`fields`: RunInfo's systems, cases, limit, repeats, judge_model), on
    which model and data; a resumed run keeps its start time."""
    load = machine_load()
    notes = ["figures over small groups are not withheld in eval runs (min_group_size 1)"]
    if busy(load, os.cpu_count()):
        notes.append(
            f"the machine was busy when the run started (load {load[0]:.1f} on {os.cpu_count()} cores)"
        )
        log.warning(
            "the machine is busy (load %.1f on %s cores): the timings will be slower", load[0], os.cpu_count()
        )
    info = RunInfo(
        suite=suite.name,
        model=running.model,
        engine=running.engine,
        dataset=suite.dataset.model_dump(exclude_defaults=True),
        started=time.strftime("%Y-%m-%d %H:%M:%S"),
        notes=notes,
        cores=os.cpu_count(),
        cpu=machine_cpu(),
        load_at_start=list(load),
        **fields,
    )
    path = run_dir / "run.json"
    if path.exists():
        info.started = json.loads(path.read_text()).get("started", info.started)
    path.write_text(info.model_dump_json(indent=2))


def machine_cpu() -> str | None:
    """The machine's CPU as a run reports it (None where /proc/cpuinfo cannot be read)."""
    try:
        return cpu_described(Path("/proc/cpuinfo").read_text())
    except OSError:
        return None


def cpu_described(cpuinfo: str) -> str:
    """'AMD EPYC; AVX2, no AVX-512' from /proc/cpuinfo's text: the model name and vector width."""
    name = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        "unknown CPU",
    )
    flags = cpu_flags(cpuinfo)
    width = "AVX-512" if "avx512f" in flags else "AVX2, no AVX-512" if "avx2" in flags else "no AVX2"
    return f"{name}; {width}"


def machine_load() -> tuple[float, float, float]:
    """The machine's 1, 5 and 15-minute load averages."""
    return os.getloadavg()


def busy(load: tuple[float, ...] | list[float], cores: int | None) -> bool:
    """Something else is using the machine: over half its cores are busy on average over the
    last minute (a quiet machine reads near 0; a run's own engine keeps one or two busy)."""
    return load[0] > 0.5 * (cores or 1)


def _finish_info(run_dir: Path) -> None:
    """The load average after the last case, in run.json."""
    path = run_dir / "run.json"
    if path.exists():
        info = RunInfo.model_validate_json(path.read_text())
        info.load_at_end = list(machine_load())
        path.write_text(info.model_dump_json(indent=2))


def _scored(runner: Any, name: str, case: Case, gold: list[tuple] | None, writer: Any) -> dict[str, Any]:
    """One case answered by one system and scored: its line in results.jsonl. A system that
    crashes fails the case, not the run."""
    try:
        outcome = runner.answer(case)
    except Exception as exc:
        log.exception("case %s on %s crashed", case.id, name)
        outcome = Outcome(
            case=case.id, system=name, kind="error", text="", error=f"{type(exc).__name__}: {exc}"
        )
    outcome.question = case.question
    result = score(case, outcome, gold)
    free_text_checks(runner, outcome, result)
    judge(writer, case, outcome, result)
    return {"system": name, "case": case.id, "passed": result.passed, **result.model_dump(mode="json")}


def run_suite(
    suite: Suite,
    systems: list[str],
    settings: Settings,
    run_dir: Path,
    *,
    real_data: Path,
    limit: int | None = None,
    workers: int = 1,
    use_judge: bool = True,
    progress: Progress | None = None,
    endpoint: Any = None,
    repeats: int = 1,
) -> list[dict[str, Any]]:
    """Run (or resume) the suite, each case `repeats` times; returns every result line of the run
    folder. Repeat 2 starts after repeat 1 has asked every case, so a run cut short still covers
    the whole suite."""
    from assistant.embeddings import Encoder

    factories = installed_systems()
    _check_systems(systems, factories)
    report = progress or (lambda stage, fraction: None)
    cases = suite.cases[:limit] if limit else suite.cases
    run_dir.mkdir(parents=True, exist_ok=True)
    # Gold answers are exact, so the eval measures answers with small-group suppression off;
    # the suppression itself is tested in tests/test_metrics.py.
    data_settings = prepare_warehouse(suite.dataset, settings, real_data, report).with_overrides(
        min_group_size=1
    )
    done = _resumed(run_dir)
    todo = [(s, c, r) for r in range(repeats) for s in systems for c in cases if (s, c.id, r) not in done]
    warehouse = Warehouse(data_settings, read_only=True)
    lock = threading.Lock()
    judged = use_judge and any(c.rubric for _, c, _ in todo)
    info = {"systems": systems, "cases": len(cases), "limit": limit, "repeats": repeats}
    try:
        with _engine(settings, endpoint) as running, _judging(judged, settings, running, report) as writer:
            _write_info(
                run_dir, suite, running, judge_model=writer.endpoint.model if writer else None, **info
            )
            encoder = Encoder()
            built: dict[str, Any] = {}
            gold_cache: dict[str, list[tuple] | None] = {}
            finished = [0]

            def system(name: str) -> Any:
                with lock:
                    if name not in built:
                        built[name] = factories[name](name, data_settings, warehouse, running, encoder)
                    return built[name]

            def one(item: tuple[str, Case, int]) -> None:
                name, case, repeat = item
                runner = system(name)
                with lock:
                    if case.id not in gold_cache:
                        gold_cache[case.id] = gold_rows(warehouse, case.gold_sql) if case.gold_sql else None
                line = {**_scored(runner, name, case, gold_cache[case.id], writer), "repeat": repeat}
                with lock:
                    with (run_dir / "results.jsonl").open("a") as handle:
                        handle.write(json.dumps(line, default=str) + "\n")
                    finished[0] += 1
                    report(f"{suite.name}: {len(todo)} cases", finished[0] / max(len(todo), 1))

            report(f"{suite.name}: {len(todo)} cases", 0.0 if todo else 1.0)
            if workers > 1:
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(one, todo))
            else:
                for item in todo:
                    one(item)
            _finish_info(run_dir)
    finally:
        warehouse.close()
    return read_results(run_dir)
