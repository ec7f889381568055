"""A `dspy.LM` whose every request goes through the workbench's call engine and response cache.

DSPy's optimizers call the program themselves, from their own threads. Handing them an LM built
on a DSPy engine (`complete(Request) -> Response`) that looks the request up in the response
cache, and otherwise calls the model's plain `dspy.LM` on the call engine (per-model concurrency,
retries with backoff, timeouts), gives their calls what every workbench call has. The cache key is
the DSPy pipeline's (`pipeline`, model, decoding, the exact messages, sample 0), so a candidate
the optimizer evaluated is a cache hit for `workbench run` with `pipelines: [dspy]` and for the
optimizer's own re-evaluation, and an interrupted optimization resumes where it stopped.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable

import dspy
from dspy.lm15 import Message, Request, Response, Usage

from workbench.calls.cache import cache_key
from workbench.calls.engine import CallEngine, Generation
from workbench.calls.loop import run_sync
from workbench.models.dspy_lm import dspy_lm
from workbench.models.spec import Decoding, ModelSpec

OnReply = Callable[[bool], None]
"""Called after every reply with whether it came from the cache (progress displays)."""


def request_messages(request: Request) -> list[dict[str, str]]:
    """A DSPy request as the chat messages it carries: what the cache key and traces hold."""
    out = []
    if request.system is not None:
        system = request.system if isinstance(request.system, str) else "".join(p.text for p in request.system)
        out.append({"role": "system", "content": system})
    out.extend({"role": m.role, "content": m.text or ""} for m in request.messages)
    return out


class CallEngineLM:
    """Owns the plain `dspy.LM` for `model` and the engine pair DSPy calls; `lm` is what a
    program or optimizer is given."""

    def __init__(
        self,
        model: ModelSpec,
        decoding: Decoding,
        calls: CallEngine,
        *,
        timeout: float,
        pipeline: str = "dspy",
        purpose: str = "reply",
        on_reply: OnReply | None = None,
    ):
        self.model, self.decoding, self.calls = model, decoding, calls
        self.pipeline, self.purpose = pipeline, purpose
        self.timeout = timeout
        self.on_reply = on_reply
        self._inner: dspy.LM | None = None
        self._lock = threading.Lock()
        self.cached = 0
        self.answered = 0
        engine = _AsyncEngine(self)
        kwargs = {"temperature": decoding.temperature, "max_tokens": decoding.max_tokens}
        if decoding.seed is not None:
            kwargs["seed"] = decoding.seed
        self.lm = dspy.LM(
            f"workbench/{model.name}",
            engine=_SyncEngine(engine),
            async_engine=engine,
            cache=False,
            num_retries=0,
            **kwargs,
        )

    @property
    def inner(self) -> dspy.LM:
        with self._lock:
            if self._inner is None:
                self._inner = dspy_lm(self.model, self.decoding, self.timeout)
            return self._inner

    def key(self, messages: list[dict[str, str]]) -> str:
        return cache_key(
            self.pipeline, self.model.identity(), self.decoding.model_dump(), messages, 0, purpose=self.purpose
        )

    async def complete(self, request: Request) -> Response:
        messages = request_messages(request)

        async def invoke() -> Generation:
            inner = self.inner
            # Called with the messages (not the Request) so the inner LM's own provider kwargs apply,
            # such as llama.cpp's `n_predict` cap (`models.dspy_lm`), which a Request cannot carry.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                outputs = await inner.acall(messages=messages, **_config_kwargs(request))
            entry: dict = next((e for e in reversed(inner.history) if e.get("messages") is messages), {})
            usage = entry.get("usage") or {}
            text = outputs[0] if outputs else ""
            text = text.get("text", "") if isinstance(text, dict) else str(text)
            return Generation(text, usage.get("prompt_tokens"), usage.get("completion_tokens"))

        outcome = await self.calls.call(self.model.name, self.key(messages), invoke, purpose=self.purpose)
        with self._lock:
            self.answered += 1
            self.cached += outcome.cached
        if self.on_reply is not None:
            self.on_reply(outcome.cached)
        if outcome.generation is None:
            raise RuntimeError(f"{self.model.name}: {outcome.error}")
        generation = outcome.generation
        return Response(
            id=None,
            model=self.model.name,
            message=Message.assistant(generation.reply),
            finish_reason="stop",
            usage=Usage(input_tokens=generation.input_tokens, output_tokens=generation.output_tokens),
        )


def _config_kwargs(request: Request) -> dict:
    """The per-call settings DSPy put on the request (the program's decoding)."""
    config = request.config
    found = {"max_tokens": config.max_tokens, "temperature": config.temperature, "top_p": config.top_p}
    found["seed"] = config.seed
    return {key: value for key, value in found.items() if value is not None}


class _AsyncEngine:
    def __init__(self, owner: CallEngineLM):
        self.owner = owner

    async def complete(self, request: Request) -> Response:
        return await self.owner.complete(request)

    def stream(self, request: Request):
        raise NotImplementedError("replies are not streamed")

    async def aclose(self) -> None:
        pass


class _SyncEngine:
    """DSPy's optimizers call from worker threads; their calls run on the engine's loop."""

    def __init__(self, engine: _AsyncEngine):
        self.engine = engine

    def complete(self, request: Request) -> Response:
        return run_sync(self.engine.complete(request))

    def stream(self, request: Request):
        raise NotImplementedError("replies are not streamed")

    def close(self) -> None:
        pass
