"""ShopLens in a notebook, as an analyst uses it: a real Jupyter notebook, executed by nbclient on
a real kernel, connects with `shoplens.connect`, asks a question and a follow-up of the real
embedded model, and gets answers that render (HTML) with their tables as DataFrames."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from assistant.llm.server import ManagedServer
from assistant.settings import Settings
from assistant.warehouse.db import Warehouse

from .conftest import DemoShops

CELLS = [
    "import shoplens",
    "s = shoplens.connect(data_dir={data!r}, llm_port={port}, min_group_size=1)",
    'a = s.ask("How many orders were there?")\na',
    "print(repr(a.text)); a.df",
    'b = s.ask("and by category?")\nb',
    "assert b.df is not None and 'category' in b.df.columns, b.text\nprint(len(b.df), 'categories')",
    "s.close()",
]


def test_an_answer_renders_escaped_with_its_table_as_a_dataframe() -> None:
    from assistant.answer import Answer, Table

    answer = Answer(
        question="q",
        text="Highest revenue: <script>alert(1)</script> (5.0)",
        kind="answer",
        table=Table(columns=["category", "revenue"], rows=[["<b>books</b>", 5.0], ["toys", 2.0]]),
        interpretation="Revenue; all data",
        sql="SELECT 1",
    )
    html = answer._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;books" in html
    assert "Computed: Revenue; all data" in html and "<details><summary>SQL" in html
    assert list(answer.df.columns) == ["category", "revenue"] and answer.df["revenue"].sum() == 7.0
    assert Answer(question="q", text="no", kind="refusal").df is None


@pytest.mark.model  # the real engine with the default model
def test_a_notebook_connects_asks_and_follows_up(
    llama_server: ManagedServer, tmp_path: Path, demo_shops: DemoShops
) -> None:
    data = tmp_path / "data"
    demo_shops.copy(data, 20_000, seed=5)
    with Warehouse(Settings(data_dir=data)) as reader, reader.engine.connect() as conn:
        orders = conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()
        categories = conn.exec_driver_sql("SELECT count(DISTINCT category) FROM events").scalar()
    port = llama_server.engine.port
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(c.format(data=str(data), port=port)) for c in CELLS]
    )
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [cell.outputs for cell in notebook.cells]
    first = outputs[2][0]["data"]
    assert "text/html" in first and f"Orders: {orders:,}" in first["text/html"]  # renders itself
    assert "<table" in outputs[3][-1]["data"]["text/html"]  # the DataFrame
    assert (
        "<table" in outputs[4][0]["data"]["text/html"] and "Computed:" in outputs[4][0]["data"]["text/html"]
    )
    assert outputs[5][0]["text"].strip() == f"{categories} categories"
