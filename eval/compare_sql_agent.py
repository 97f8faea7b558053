"""ShopLens vs a plain LangChain SQL agent, same model, same questions, side by side in one run.

    python -m eval.compare_sql_agent [--suite eval/suites/agent30.yaml] [--limit N] [--model NAME]

Builds the demo shop (300k events, seed 7) in a scratch dir, starts the model engine, and asks
every question of (a) the ShopLens assistant and (b) LangChain's `create_sql_agent` with
`SQLDatabaseToolkit` (ReAct over text: llama.cpp's server cannot do `tool_choice="auto"`).
Per system: tool-choice accuracy, execution accuracy (the answer's rows hold the gold SQL's
rows) and median seconds per question.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from assistant.settings import Settings

QUERY_TOOLS = {"query_metric", "run_sql", "funnel", "cohort_retention", "describe_data"}


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()[:10]
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return None if value is None else str(value).strip().lower()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-9)
    return a == b


def _key(value: Any) -> tuple:
    return (0, round(value, 6)) if isinstance(value, float) else (1, str(value))


def result_matches(rows: list[list[Any]] | list[tuple], gold: list[tuple]) -> bool:
    """BIRD-style execution match: same number of rows; every gold column equals some column of
    the answer (extra columns allowed), rows compared as a multiset, numbers to 0.1%. A one-row
    gold is matched by the first row of a ranked answer."""
    pred = [[_norm(v) for v in r] for r in rows]
    ref = [[_norm(v) for v in r] for r in gold]
    if len(ref) == 1 and len(pred) > 1:  # "which X has the most": a ranked answer, right if it leads with it
        pred = pred[:1]
    if len(pred) != len(ref):
        return False
    if not ref:
        return True
    width = len(pred[0])
    candidates = []
    for j in range(len(ref[0])):
        gold_col = sorted((r[j] for r in ref), key=_key)
        options = [
            k
            for k in range(width)
            if all(_same(a, b) for a, b in zip(sorted((r[k] for r in pred), key=_key), gold_col, strict=True))
        ]
        if not options:
            return False
        candidates.append(options)
    for assignment in itertools.islice(itertools.product(*candidates), 200):
        projected = sorted(([r[k] for k in assignment] for r in pred), key=lambda r: [_key(v) for v in r])
        expected = sorted(ref, key=lambda r: [_key(v) for v in r])
        if all(
            all(_same(a, b) for a, b in zip(p, e, strict=True))
            for p, e in zip(projected, expected, strict=True)
        ):
            return True
    return False


@dataclass
class Outcome:
    system: str
    case: str
    tool: str
    tool_ok: bool
    exec_ok: bool | None  # None: no gold SQL for this case
    seconds: float
    answer: str


def baseline_metadata(warehouse: Any) -> Any:
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


def gold_rows(warehouse: Any, sql: str) -> list[tuple]:
    with warehouse.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql).fetchall()]


def run_shoplens(assistant: Any, case: dict[str, Any], gold: list[tuple] | None) -> Outcome:
    started = time.perf_counter()
    answer = assistant.ask(case["question"])
    seconds = time.perf_counter() - started
    tools = [c.tool for c in answer.tool_calls if not c.error]
    tool = tools[-1] if tools else (answer.tool_calls[-1].tool if answer.tool_calls else "none")
    exec_ok = None
    if gold is not None:
        exec_ok = bool(answer.table) and result_matches(answer.table.rows, gold)
    return Outcome("shoplens", case["id"], tool, tool in case["tools"], exec_ok, seconds, answer.text)


def run_baseline(executor: Any, warehouse: Any, case: dict[str, Any], gold: list[tuple] | None) -> Outcome:
    started = time.perf_counter()
    try:
        result = executor.invoke({"input": case["question"]})
        steps, text = result.get("intermediate_steps", []), str(result.get("output", ""))
    except Exception as exc:  # the agent gave up (iteration/time limit) or crashed
        steps, text = [], f"error: {type(exc).__name__}: {exc}"[:300]
    seconds = time.perf_counter() - started
    queries = [
        a.tool_input
        for a, observation in steps
        if a.tool == "sql_db_query" and not str(observation).startswith("Error")
    ]
    used = [a.tool for a, _ in steps]
    if set(case["tools"]) & QUERY_TOOLS:
        wanted = (
            {"sql_db_list_tables", "sql_db_schema"}
            if case["tools"] == ["describe_data"]
            else {"sql_db_query"}
        )
        tool_ok = bool(wanted & set(used))
    else:  # the right move was to ask or decline: running a query is wrong
        tool_ok = "sql_db_query" not in used
    exec_ok = None
    if gold is not None:
        exec_ok = False
        if queries:
            query = queries[-1] if isinstance(queries[-1], str) else queries[-1].get("query", "")
            try:
                exec_ok = result_matches(gold_rows(warehouse, query), gold)
            except Exception:
                exec_ok = False
    return Outcome(
        "langchain sql agent",
        case["id"],
        "sql_db_query" if queries else (used[-1] if used else "none"),
        tool_ok,
        exec_ok,
        seconds,
        text,
    )


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    scored = [o for o in outcomes if o.exec_ok is not None]
    return {
        "questions": len(outcomes),
        "tool_choice_accuracy": sum(o.tool_ok for o in outcomes) / len(outcomes),
        "execution_accuracy": sum(bool(o.exec_ok) for o in scored) / len(scored) if scored else float("nan"),
        "execution_scored": len(scored),
        "median_seconds": statistics.median(o.seconds for o in outcomes),
    }


def main() -> None:
    from langchain_community.agent_toolkits import create_sql_agent
    from langchain_community.utilities import SQLDatabase

    from assistant.agent import Assistant
    from assistant.embeddings import Encoder
    from assistant.llm.client import chat_model
    from assistant.llm.server import start_engine
    from assistant.warehouse.db import Warehouse
    from assistant.warehouse.demo import generate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=Path(__file__).parent / "suites" / "agent30.yaml")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--model", default=None)
    parser.add_argument("--models-dir", type=Path, help="model cache (default: the ShopLens data dir)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cases = yaml.safe_load(args.suite.read_text())[: args.limit]

    base = Settings().with_overrides(model=args.model)
    scratch = Path(tempfile.mkdtemp(prefix="shoplens-compare-"))
    settings = base.with_overrides(data_dir=scratch, llm_port=base.llm_port + 200)
    with Warehouse(settings) as writer:
        generate(writer, 300_000, seed=7)
    engine_settings = settings.with_overrides(data_dir=args.models_dir or base.data_dir)
    warehouse = Warehouse(settings, read_only=True)
    outcomes: list[Outcome] = []
    with start_engine(engine_settings) as running:
        endpoint = running.endpoint
        assistant = Assistant.on_endpoint(settings, warehouse, endpoint, Encoder())
        relations = ["events", "products", "users", "orders", "sessions", "daily_metrics"]
        database = SQLDatabase(
            warehouse.engine,
            metadata=baseline_metadata(warehouse),
            include_tables=relations,
            view_support=True,
            lazy_table_reflection=True,
            sample_rows_in_table_info=2,
        )
        executor = create_sql_agent(
            chat_model(endpoint, settings, max_tokens=400),
            db=database,
            agent_type="zero-shot-react-description",
            max_iterations=8,
            max_execution_time=240,
            agent_executor_kwargs={"return_intermediate_steps": True, "handle_parsing_errors": True},
        )
        for number, case in enumerate(cases, 1):
            gold = gold_rows(warehouse, case["gold_sql"]) if case.get("gold_sql") else None
            for outcome in (
                run_shoplens(assistant, case, gold),
                run_baseline(executor, warehouse, case, gold),
            ):
                outcomes.append(outcome)
                mark = {True: "ok", False: "WRONG", None: "-"}[outcome.exec_ok]
                print(
                    f"{number:>2} {case['id']:<26} {outcome.system:<20} tool {outcome.tool:<16} "
                    f"{'ok' if outcome.tool_ok else 'WRONG':<5} exec {mark:<5} {outcome.seconds:6.1f}s",
                    flush=True,
                )
    warehouse.close()

    print(f"\nmodel {endpoint.model} on {endpoint.engine}; {len(cases)} questions over the demo shop")
    print(f"{'':<26}{'shoplens':>14}{'langchain sql agent':>22}")
    summaries = {
        s: summarize([o for o in outcomes if o.system == s]) for s in ("shoplens", "langchain sql agent")
    }
    for key, label, fmt in (
        ("tool_choice_accuracy", "tool-choice accuracy", "{:.0%}"),
        ("execution_accuracy", "execution accuracy", "{:.0%}"),
        ("median_seconds", "median seconds/question", "{:.1f}"),
    ):
        print(
            f"{label:<26}{fmt.format(summaries['shoplens'][key]):>14}{fmt.format(summaries['langchain sql agent'][key]):>22}"
        )
    print(f"(execution scored on {summaries['shoplens']['execution_scored']} questions with gold SQL)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"summary": summaries, "outcomes": [o.__dict__ for o in outcomes]}, indent=2, default=str
            )
        )


if __name__ == "__main__":
    main()
