"""Eval suites: the file format, and loading one by name or path.

A suite is a YAML file (or JSONL, one case per line, with the dataset given on the command line):

```yaml
name: demo
description: questions over the demo shop
dataset: {demo_events: 300000, seed: 7}   # or {files: [rees46/....csv]} or {warehouse: path.duckdb}
cases:
  - id: revenue_7d                         # unique in the suite
    question: What was revenue in the last 7 days?
    before: []                             # earlier questions of the same conversation
    tools: [query_metric, run_sql]         # calls that count as the right choice
    gold_sql: SELECT sum(price * quantity) FROM events WHERE ...   # its rows must be in the answer's table
    ordered: false                         # true: row order must match too (ORDER BY matters)
    numbers: []                            # numbers the answer's text must state
    contains: []                           # strings the answer (text or table) must contain
    kind: answer                           # or clarification / refusal / error: a question back, a "can't", a clear error
    rubric: null                           # free text (copy, explanations): what a judge checks
    tags: [metrics]
```
Every check is optional; a case passes when all the checks it has pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

SUITES_DIR = Path(__file__).parent / "suites"


class Dataset(BaseModel):
    """What a suite runs on: a generated demo shop, real files, or an existing warehouse."""

    model_config = ConfigDict(extra="forbid")
    demo_events: int | None = None
    seed: int = 7
    files: list[str] = Field(default_factory=list)  # relative paths are under the real-data folder
    warehouse: str | None = None  # a DuckDB file, opened read-only

    @model_validator(mode="after")
    def _one_source(self) -> Dataset:
        given = sum([self.demo_events is not None, bool(self.files), self.warehouse is not None])
        if given != 1:
            raise ValueError("a dataset is exactly one of demo_events, files or warehouse")
        return self

    def key(self) -> str:
        """A name for the prepared warehouse, so suites on the same data share it."""
        if self.demo_events is not None:
            return f"demo-{self.demo_events}-{self.seed}"
        if self.warehouse:
            return "warehouse-" + Path(self.warehouse).stem
        return "files-" + "-".join(Path(f).stem for f in self.files)[:120]


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    question: str
    before: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    kind: Literal["answer", "clarification", "refusal", "error"] = "answer"
    gold_sql: str | None = None
    ordered: bool = False
    numbers: list[float] = Field(default_factory=list)
    contains: list[str] = Field(default_factory=list)
    rubric: str | None = None
    tags: list[str] = Field(default_factory=list)


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    dataset: Dataset
    cases: list[Case]

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        seen: set[str] = set()
        for case in self.cases:
            if case.id in seen:
                raise ValueError(f"case id {case.id!r} appears twice")
            seen.add(case.id)
        return self


class SuiteError(ValueError):
    """The suite file is missing or malformed; the message says where."""


def load_suite(name_or_path: str | Path, dataset: Dataset | None = None) -> Suite:
    """A suite by name (`eval/suites/NAME.yaml`) or by path (YAML, or JSONL cases + `dataset`)."""
    path = Path(name_or_path)
    if not path.exists():
        path = SUITES_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.yaml")))
            raise SuiteError(f"no suite {str(name_or_path)!r}: give a file path or one of: {known}")
    try:
        if path.suffix == ".jsonl":
            cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            suite = Suite(
                name=path.stem,
                dataset=dataset or Dataset(demo_events=300_000),
                cases=[Case.model_validate(c) for c in cases],
            )
        else:
            data = yaml.safe_load(path.read_text())
            if not isinstance(data, dict):
                raise SuiteError(f"{path}: a suite file is a mapping with name, dataset and cases")
            data.setdefault("name", path.stem)
            if dataset is not None:
                data["dataset"] = dataset.model_dump(exclude_defaults=True) | {"seed": dataset.seed}
            suite = Suite.model_validate(data)
    except (ValueError, yaml.YAMLError) as exc:  # pydantic's ValidationError is a ValueError
        if isinstance(exc, SuiteError):
            raise
        raise SuiteError(f"{path}: {exc}") from None
    return suite
