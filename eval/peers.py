"""Peers from other projects, on the same model, engine and read-only warehouse as ShopLens
(install them with `pip install -e .[peers]`): LlamaIndex's text-to-SQL query engine and Vanna.

A peer gets what its docs say to give it and what the plain schema prompt gets: the tables with
their column comments, the data's first and last day and its event types. Its failures must be
its own: where the adapter has to step in (DuckDB's catalog), the README says so."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
from typing import Any

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from eval.harness import asked_alone, query_failure, run_as_written, sql_outcome
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
            api_key=endpoint.client_key(),
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
        started = time.perf_counter()
        error = sql = None
        columns: list[str] = []
        rows: list[list[Any]] = []
        text = ""
        try:
            response = self.engine.query(asked_alone(case))
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
        return sql_outcome(
            case,
            self.name,
            started,
            kind="error" if error else "answer",
            text=text or (error or ""),
            sql=sql,
            columns=columns,
            rows=rows,
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


class VannaSystem:
    """Vanna (its classic API, shipped in the current release as `vanna.legacy`), set up as its
    docs recommend for another LLM: `ChromaDB_VectorStore` + `OpenAI_Chat` on an OpenAI client
    pointed at the engine, trained on the tables' DDL (with column comments), documentation (the
    data's span and event types, each metric's definition and SQL) and question/SQL pairs: the
    solved examples ShopLens retrieves from, each typed call compiled to the SQL it runs. Chroma
    embeds with the packaged all-MiniLM-L6-v2 (Chroma's own default is the same model, which it
    would download). One call writes the SQL; its result is stated as plain-sql states it."""

    name = "vanna"

    def __init__(self, settings: Settings, warehouse: Warehouse, endpoint: Any) -> None:
        # Chroma's telemetry would try the network (there is none); vanna also turns it off in code.
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction
        from openai import OpenAI
        from vanna.legacy.chromadb import ChromaDB_VectorStore
        from vanna.legacy.openai import OpenAI_Chat

        from assistant.embeddings import packaged_model_dir

        class LocalVanna(ChromaDB_VectorStore, OpenAI_Chat):  # the docs' "other LLM" recipe
            def __init__(self, client: Any, config: dict[str, Any]) -> None:
                ChromaDB_VectorStore.__init__(self, config=config)
                OpenAI_Chat.__init__(self, client=client, config=config)

            def log(self, message: str, title: str = "Info") -> None:  # it prints every prompt
                log.debug("vanna %s: %s", title, message)

        self.settings, self.warehouse = settings, warehouse
        client = OpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.client_key(),
            timeout=settings.llm_timeout,
            max_retries=1,
        )
        embedding = SentenceTransformerEmbeddingFunction(model_name=str(packaged_model_dir()), device="cpu")
        self.vanna = LocalVanna(
            client,
            {
                "client": "in-memory",
                "embedding_function": embedding,
                "model": endpoint.model,
                "temperature": 0.0,
                "dialect": "DuckDB SQL",
            },
        )
        self.vanna.run_sql = self._run
        self.vanna.run_sql_is_set = True
        self._train()

    def _train(self) -> None:
        with _quiet():
            self._train_on_knowledge()

    def _train_on_knowledge(self) -> None:
        for ddl in plain_blocks():
            self.vanna.train(ddl=ddl)
        self.vanna.train(documentation=data_context(self.warehouse))
        for text in metric_documentation():
            self.vanna.train(documentation=text)
        for question, sql in example_sql(self.settings, self.warehouse):
            self.vanna.train(question=question, sql=sql)

    def _run(self, sql: str) -> Any:
        """Vanna's run_sql: the query as plain-sql's runs, as the DataFrame Vanna expects."""
        import pandas as pd

        columns, rows = run_as_written(self.warehouse, self.settings, sql)
        return pd.DataFrame(rows, columns=columns)

    def answer(self, case: Case) -> Outcome:
        from tools.narrate import table_sentence

        started = time.perf_counter()
        error = sql = None
        columns: list[str] = []
        rows: list[list[Any]] = []
        text = ""
        try:
            with _quiet():
                sql = self.vanna.generate_sql(asked_alone(case))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        # Its prompt tells the model to explain why when the context cannot answer: a reply that
        # is no SQL is Vanna declining.
        declined = error is None and not self.vanna.is_sql_valid(sql or "")
        if error is None and not declined:
            try:
                frame = self._run(sql or "")
                columns, rows = list(frame.columns), frame.values.tolist()
                text = table_sentence(columns, [tuple(r) for r in rows])
            except Exception as exc:  # its SQL failed: its failure
                error = query_failure(exc)
        return sql_outcome(
            case,
            self.name,
            started,
            kind="refusal" if declined else ("error" if error else "answer"),
            text=(sql or "") if declined else (text or error or ""),
            sql=None if declined else sql,  # its explanation is no query
            columns=columns,
            rows=rows,
            error=error,
        )


@contextlib.contextmanager
def _quiet() -> Any:
    """Vanna prints as it works ("Using model … for N tokens"): to the log, not over the CLI's
    progress bar."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        yield
    if printed.getvalue().strip():
        log.debug("vanna printed: %s", printed.getvalue().strip()[:2000])


def plain_blocks() -> list[str]:
    """The plain schema prompt's CREATE statements (columns with comments), one per table."""
    from eval.harness import plain_schema

    blocks, current = [], []
    for line in plain_schema().splitlines():
        current.append(line)
        if line == ");":
            blocks.append("\n".join(current))
            current = []
    return blocks


def metric_documentation() -> list[str]:
    """Each metric of ShopLens's semantic layer: its name, definition and SQL expression."""
    from tools.metrics import SemanticModel

    model = SemanticModel.load()
    return [
        f"Metric {m.name} ({', '.join(m.synonyms)}): {m.description} SQL over events e: {model.expression(m.name)}"
        for m in model.metrics.values()
    ]


def example_sql(settings: Settings, warehouse: Warehouse) -> list[tuple[str, str]]:
    """ShopLens's solved examples as question/SQL pairs on this warehouse: a run_sql example's
    query as written, a typed call (a metric, a comparison, a funnel …) as the SQL it compiles
    to here. Calls this data cannot answer are left out."""
    from assistant.retrieval import load_examples
    from tools import build_tools
    from tools.base import ToolContext
    from tools.metrics import SemanticModel

    tools = build_tools(SemanticModel.load())
    ctx = ToolContext.open(settings, warehouse)
    pairs = []
    for example in load_examples():
        if example.tool == "run_sql":
            pairs.append((example.question, str(example.arguments["query"])))
            continue
        if example.tool not in tools or tools[example.tool].group != "metrics":
            continue
        try:
            result = tools[example.tool](ctx, example.arguments)
        except Exception as exc:
            log.debug("example %r does not run here: %s", example.question, exc)
            continue
        if result.sql:
            pairs.append((example.question, result.sql))
    return pairs
