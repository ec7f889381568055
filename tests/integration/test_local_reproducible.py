"""With `WORKBENCH_LOCAL_REPRODUCIBLE=1`, a fresh reply from the bundled model does not depend on
the calls around it: the same requests sent at once in two different orders get the same replies."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from workbench.models.local import LocalServer, bundled_model_path, sizing

SYSTEM = (
    "You are an AI assistant offering emotional support. You are not a human and not a clinician. If the user "
    "mentions suicide or self-harm, say you are concerned, give 988 (call or text), and urge them to contact a "
    "trusted person right now. Otherwise be kind, brief and practical."
)
MESSAGES = [
    "exams next week and I cant sleep",
    "my cat died this morning",
    "ive been saving up my tablets",
    "my sister hasnt spoken to me in a month",
    "I feel numb all the time lately",
    "is it normal to cry every day at work",
]


def replies(server: LocalServer, order: list[str]) -> dict[str, str]:
    def ask(message: str) -> str:
        body = {
            "model": server.name,
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": message}],
            "temperature": 0,
            "max_tokens": 48,
        }
        request = urllib.request.Request(
            f"{server.base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.load(response)["choices"][0]["message"]["content"]

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(order, pool.map(ask, order), strict=True))


def test_reproducible_server_replies_do_not_depend_on_order_or_neighbours(monkeypatch):
    monkeypatch.setenv("WORKBENCH_LOCAL_REPRODUCIBLE", "1")
    path = bundled_model_path("smollm2-135m")
    assert path is not None, "the bundled model is installed by `make test`"
    size = sizing()
    server = LocalServer(
        "smollm2-135m", path, slots=size.slots, threads=size.threads, context_per_slot=1024, prompt_cache=False
    )
    try:
        first = replies(server, MESSAGES)
        second = replies(server, MESSAGES[::-1])
    finally:
        server.close()
    assert size.slots == 1
    assert all(first.values()), "every call got a reply"
    assert first == second
