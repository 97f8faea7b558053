"""The one settings object. Every knob lives here; env vars `SHOPLENS_*` and CLI flags override it.

Nothing else in the code reads the environment for configuration: a `Settings` instance is
created once (by the CLI, `launch.py`, a test) and passed down.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import ByteSize, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPLENS_", extra="ignore")

    data_dir: Path = Field(
        default=Path("~/.shoplens"),
        description="Where the warehouse, model cache, indexes and logs live.",
    )
    warehouse: str = Field(
        default="shop",
        description="Name of the embedded DuckDB warehouse in the data dir (one file per warehouse).",
    )
    database_url: str | None = Field(
        default=None,
        description="Any SQLAlchemy URL; overrides `warehouse` (e.g. postgresql+psycopg://…, or"
        " hive://host:10000/default for a Spark Thrift Server).",
    )
    spark_tables_dir: Path | None = Field(
        default=None,
        description="On Spark: the folder loads write the tables to as Parquet, which the Spark server"
        " reads (default: `<data_dir>/<warehouse>.spark`).",
    )
    model: str = Field(default="qwen2.5-coder-1.5b", description="Packaged chat model to serve.")
    judge_model: str | None = Field(
        default=None,
        description="Model the eval's LLM judge runs on (default: another packaged model than the one"
        " under test: the 0.5B judges the 1.5B, the 1.5B judges the others).",
    )
    engine: str = Field(
        default="auto",
        description="Model server: auto = vLLM when a CUDA GPU is present, llama.cpp otherwise; "
        "external = an OpenAI-compatible server at llm_url; or an engine a plugin registers.",
    )
    llm_url: str | None = Field(default=None, description="Base URL of an external OpenAI-compatible server.")
    llm_model: str | None = Field(default=None, description="Model name to ask an external server for.")
    llm_api_key: SecretStr | None = Field(
        default=None,
        description="API key of an external server that asks for one (sent as a Bearer token); a vLLM"
        " that ShopLens starts asks it of every caller.",
    )
    llm_threads: int | None = Field(
        default=None, ge=1, description="CPU threads for llama.cpp (default: all cores)."
    )
    llm_context: int = Field(default=8192, ge=512, description="Context window to serve with.")
    tensor_parallel: int = Field(default=1, ge=1, description="GPUs to split the model over (vLLM).")
    llm_timeout: float = Field(default=180.0, gt=0, description="Seconds to wait for one model answer.")
    host: str = Field(default="127.0.0.1", description="Interface the app and engine bind to.")
    ui_port: int = Field(default=7860, description="Port of the Gradio app.")
    upload_limit_mb: int = Field(
        default=2048, ge=1, description="Largest file the app accepts as an upload (MB)."
    )
    import_dirs: Annotated[list[Path], NoDecode] = Field(
        default=[],
        description="Folders the app's Data tab may load a typed server path from (after symlinks "
        "and '..' are resolved; uploads need none). Empty: <data dir>/imports, created on demand. "
        "Env: paths separated by ':' (os.pathsep) or a JSON list. Whatever is set, nothing in the data "
        "dir outside its imports folder (the pii.key secret, the audit log, datasets, exports) loads "
        "from the app.",
    )
    ui_concurrency: int = Field(
        default=4,
        ge=1,
        description="Chat answers the app works on at once (the model server queues the rest).",
    )
    llm_port: int = Field(default=8081, description="Port of the local model engine.")
    api_port: int = Field(default=8000, description="Port of the HTTP API (`shoplens api`).")
    api_key: SecretStr | None = Field(
        default=None,
        description="Key the HTTP API asks of every caller (Bearer token or X-API-Key). Needed to"
        " serve the API on any interface other than the loopback.",
    )
    collector_port: int = Field(
        default=8090, description="Port of the event collector (`shoplens collect serve`)."
    )
    collector_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default=[],
        description="Write keys the event collector accepts (comma-separated in the env). None: no key asked,"
        " and the collector serves the loopback only.",
    )
    collector_events_per_second: float = Field(
        default=20_000, gt=0, description="Events per second the collector accepts per write key."
    )
    collector_max_request_kb: int = Field(
        default=500, ge=1, description="Largest request the collector accepts (KB; Segment's batch limit)."
    )
    collector_commit_seconds: float = Field(
        default=0.5,
        gt=0,
        description="How often the collector commits what it received (queries see it then).",
    )
    collector_fold_minutes: float = Field(
        default=60.0,
        ge=0,
        description="How often the collector folds its batches into the DuckDB tables (a server database:"
        " after every commit); 0: never by itself (`shoplens collect fold`).",
    )
    watch_minutes: float = Field(
        default=5.0,
        ge=0,
        description="How often the collector runs the live checks (outages, conversion drops); 0: never.",
    )
    watch_folder: Path | None = Field(
        default=None,
        description="A folder whose export files `launch.py` loads into the dataset as they land"
        " (`shoplens data watch` without the app).",
    )
    watch_folder_seconds: float = Field(
        default=10.0, gt=0, description="How often the watched folder is looked at (seconds)."
    )
    alert_webhook: str | None = Field(default=None, description="URL each new alert is POSTed to as JSON.")
    demo_events: int = Field(
        default=300_000, ge=1_000, description="Size of the demo shop created on first run."
    )
    demo_seed: int = Field(default=7, description="Seed of the demo shop generator.")
    duckdb_memory_limit: str = Field(
        default="4GB", description="DuckDB memory cap; larger loads spill to disk instead."
    )
    duckdb_threads: int | None = Field(default=None, ge=1, description="DuckDB threads (all cores).")
    metrics_file: Path | None = Field(
        default=None,
        description="A YAML file of your own metrics/dimensions, merged over prompts/metrics.yaml.",
    )
    query_row_limit: int = Field(default=1000, ge=1, description="Most rows a query returns.")
    query_timeout: float = Field(default=30.0, gt=0, description="Seconds a query may run.")
    query_memory_limit: ByteSize = Field(
        default=ByteSize(2 * 1024**3),
        description="Most memory one model-written query may take (e.g. 2GiB): run_sql runs in its own "
        "process capped at this (DuckDB inside it at three quarters), and so does DuckDB's query connection.",
    )
    query_disk_limit: ByteSize = Field(
        default=ByteSize(10 * 1024**3),
        description="Most disk a query may spill to (DuckDB's temp directory cap on the query connection).",
    )
    query_result_limit: ByteSize = Field(
        default=ByteSize(64 * 1024**2),
        description="Most bytes of rows one query may return (the row limit counts rows, this their size).",
    )
    real_data: Path = Field(
        default=Path("../shared/data/real"),
        description="Where eval suites find their relative dataset files.",
    )
    pii_masking: bool = Field(
        default=True,
        description="Mask e-mails, phone numbers and IPs found in loaded data (ids become keyed "
        "pseudonyms) before anything is stored; off only for data already anonymised.",
    )
    min_group_size: int = Field(
        default=5,
        ge=1,
        description="Aggregates (metrics, funnels, cohorts) over fewer than this many people are "
        "withheld, so no figure describes one or two customers; 1 turns it off.",
    )
    audit_log: bool = Field(
        default=True,
        description="Append every question, tool call and SQL statement (with session and time) to "
        "<data dir>/audit.jsonl; `shoplens audit` queries it.",
    )
    answer_language: Literal["question", "en"] = Field(
        default="question",
        description="The language of an answer's sentence: the question's (a question in Chinese gets code's "
        "sentence put into Chinese by the model, checked: every number kept, none added, no direction "
        "reversed; else the English stands), or always English (no extra model call).",
    )
    chinese_questions: Literal["glossary", "translated"] = Field(
        default="glossary",
        description="How a question asked in Chinese is read: with code's glossary (an English gloss of the "
        "terms it knows, beside the Chinese), or put into English by the model first (one short call on the "
        "cached prompt, checked: every number and id kept; the glossary reads it when the check fails). With "
        "the CPU default model the second passed no more Chinese tuning cases and took twice as long.",
    )
    answer_sentences: Literal["code", "model"] = Field(
        default="code",
        description="Who writes the sentence about a result: code (from the rows: directions, units and "
        "row labels always right; no second model call) or the model (checked; code's sentence when "
        "the check fails).",
    )
    coverage_retry: bool = Field(
        default=False,
        description="When what a typed call computed leaves out part of the question (an event, a statistic, "
        "a grain, a condition or a number its words name), show the model what and let it try once more; "
        "the call that leaves out less is answered. What is left out is shown with the answer either way. "
        "Off: with the CPU default model the second try gained no case on a tuning suite or the blind suites.",
    )
    recommender: Literal["itemknn", "sequence"] = Field(
        default="itemknn",
        description="The recommender `recommend` and `explain_recommendation` use unless a call names one: "
        "item-to-item co-occurrence (itemknn; built in seconds) or the sequence model (SASRec over each "
        "shopper's steps in order; trained by `shoplens tool build` or on first use, minutes on a CPU).",
    )
    tools: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="The tools offered to the model, in order (`shoplens tool list` lists those installed). "
        "Empty: the built-in ones. A plugin's tool is offered only when named here: each tool costs "
        "prompt tokens and a small model's accuracy. Env: names separated by commas.",
    )
    prompt_examples: int = Field(
        default=2,
        ge=0,
        le=8,
        description="Solved examples most similar to a question, repeated next to it (all of them are "
        "in the cached system prompt; each one repeated costs about 40 uncached prompt tokens).",
    )
    log_level: str = Field(default="WARNING", description="Logging level (DEBUG, INFO, WARNING…).")

    @field_validator("data_dir", "watch_folder")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    @field_validator("import_dirs", mode="before")
    @classmethod
    def _folder_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [p for p in text.split(os.pathsep) if p]
        if isinstance(value, list):
            return [Path(p).expanduser() for p in value]
        return value

    @field_validator("collector_keys", mode="before")
    @classmethod
    def _key_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @field_validator("tools", mode="before")
    @classmethod
    def _name_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            return (
                json.loads(text)
                if text.startswith("[")
                else [n.strip() for n in text.split(",") if n.strip()]
            )
        return value

    @field_validator("warehouse")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not value or not all(c.isalnum() or c in "-_" for c in value):
            raise ValueError("warehouse name: letters, digits, '-' and '_' only")
        return value

    @property
    def db_url(self) -> str:
        """The warehouse's SQLAlchemy URL: `database_url` if given, else the embedded DuckDB file."""
        if self.database_url:
            return self.database_url
        return f"duckdb:///{self.data_dir / (self.warehouse + '.duckdb')}"

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the non-None overrides applied (how CLI flags win over env vars)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return self.model_validate({**self.model_dump(), **given}) if given else self


def is_loopback(host: str) -> bool:
    """Whether an interface is this machine's loopback (serving there needs no key)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def parse_count(text: str) -> int:
    """A count as people write it: '300k', '10M', '2.5m', '12,000' -> int; ValueError otherwise."""
    cleaned = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(cleaned[-1:], 1)
    number = cleaned[:-1] if scale > 1 else cleaned
    try:
        return int(float(number) * scale)
    except ValueError:
        raise ValueError(f"not a count: {cleaned!r} (try 300k or 10M)") from None
