"""Peers from other projects, on the same model, engine and read-only warehouse as ShopLens
(install them with `pip install -e .[peers]`): LlamaIndex's text-to-SQL query engine.

A peer gets what its docs say to give it and what the plain schema prompt gets: the tables with
their column comments, the data's first and last day and its event types. Its failures must be
its own: where the adapter has to step in (DuckDB's catalog), the README says so."""

from __future__ import annotations

import logging
import time
from typing import Any

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from eval.scoring import Outcome
from eval.suite import Case

log = logging.getLogger(__name__)

TABLES = ("events", "products", "users", "orders", "sessions", "daily_metrics")


def table_descriptions() -> dict[str, str]:
    """Each table and view with its columns, types and comments, in the words LlamaIndex's
    SQLDatabase uses for a table ("Table 'x' has columns: a (TYPE): 'comment', …")."""
    from assistant.warehouse import schema

    found = {}
    for table in schema.TABLES:
        if table.name in TABLES:
            columns = ", ".join(f"{c.name} ({c.type}): '{c.comment}'" for c in table.columns)
            found[table.name] = (
                f"Table '{table.name}' has columns: {columns}, with comment: ({table.comment})."
            )
    for view in schema.VIEWS:
        if view.name in TABLES:
            columns = ", ".join(f"{name}: '{doc}'" for name, doc in view.columns.items())
            found[view.name] = f"Table '{view.name}' has columns: {columns}, with comment: ({view.comment})."
    return found


def data_context(warehouse: Warehouse) -> str:
    """What the plain schema prompt says of the data beside its schema: its days and event types."""
    from tools.base import read_facts

    facts = read_facts(warehouse)
    return (
        f"The data runs from {facts.first_day} to {facts.last_day} (treat {facts.last_day} as today)."
        f" Event types: {', '.join(facts.event_types)}. The SQL dialect is DuckDB."
    )


class LlamaIndexSystem:
    """LlamaIndex's `NLSQLTableQueryEngine` as its docs set it up: a `SQLDatabase` over the
    warehouse's tables, an OpenAI-compatible LLM (`OpenAILike`) on the same engine, its own
    text-to-SQL and answer-synthesis prompts (two model calls: the SQL, then the answer)."""

    name = "llamaindex"

    def __init__(self, settings: Settings, warehouse: Warehouse, endpoint: Any) -> None:
        from llama_index.core.embeddings.utils import resolve_embed_model
        from llama_index.core.query_engine import NLSQLTableQueryEngine
        from llama_index.llms.openai_like import OpenAILike

        self.warehouse = warehouse
        llm = OpenAILike(
            model=endpoint.model,
            api_base=endpoint.base_url,
            api_key=endpoint.api_key.get_secret_value() if endpoint.api_key else "not-needed",
            is_chat_model=True,
            context_window=settings.llm_context,
            max_tokens=400,
            temperature=0.0,
            timeout=settings.llm_timeout,
            max_retries=1,
        )
        self.engine = NLSQLTableQueryEngine(
            sql_database=_database(warehouse),
            tables=list(TABLES),
            llm=llm,
            context_str_prefix=data_context(warehouse),
            # No embeddings: they serve only row and column retrievers, which this setup (all
            # tables, as the docs' first example) does not use. None is LlamaIndex's "disabled".
            embed_model=resolve_embed_model(None),
        )

    def answer(self, case: Case) -> Outcome:
        question = " ".join([*case.before, case.question])  # no conversation memory
        started = time.perf_counter()
        error = sql = None
        columns: list[str] = []
        rows: list[list[Any]] = []
        text = ""
        try:
            response = self.engine.query(question)
            text, found = str(response.response or ""), response.metadata or {}
            sql = found.get("sql_query")
            columns = list(found.get("col_keys") or [])
            rows = [list(r) for r in found.get("result") or []]
            if sql and "result" not in found:
                # Its SQL failed: LlamaIndex hands the error to the answer prompt, which writes
                # words about it (often a "corrected" query it never runs). No figure came back.
                error = "its query failed (LlamaIndex answered in words about the error)"
        except Exception as exc:  # the engine gave up or crashed: its failure
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        return Outcome(
            case=case.id,
            system=self.name,
            kind="error" if error else "answer",
            text=text or (error or ""),
            tool="run_sql" if sql else None,
            tool_calls=[{"tool": "run_sql", "arguments": {"query": sql}}] if sql else [],
            sql=sql,
            columns=columns,
            rows=rows,
            seconds=round(time.perf_counter() - started, 3),
            error=error,
        )


def _database(warehouse: Warehouse) -> Any:
    """LlamaIndex's SQLDatabase on the warehouse. duckdb_engine answers none of SQLAlchemy's
    catalog queries that SQLDatabase makes (reflection, columns, foreign keys: "pg_collation not
    found"), so the tables are described from ShopLens's schema in SQLDatabase's own format
    instead; queries run through SQLDatabase.run_sql unchanged."""
    from llama_index.core import SQLDatabase

    class DescribedDatabase(SQLDatabase):
        def __init__(self) -> None:  # no reflection: the catalog queries fail on DuckDB
            self._engine = warehouse.engine
            self._schema = None
            self._all_tables = self._include_tables = self._usable_tables = set(TABLES)
            self._ignore_tables = set()
            self._sample_rows_in_table_info = 0
            self._indexes_in_table_info = False
            self._custom_table_info = None
            self._max_string_length = 300
            self._descriptions = table_descriptions()

        def get_single_table_info(self, table_name: str) -> str:
            return self._descriptions[table_name]

    return DescribedDatabase()
