"""Before the first call: can each model's endpoint be reached at all?

A run against a closed port would otherwise retry every cell with backoff, minutes of it, to
learn one thing. One TCP connection per endpoint (through the proxy the client would use, if any)
tells it in milliseconds: an address that does not parse, a host that does not resolve or a
refused connection is an input error naming the model and the URL, and nothing is called. It
is not a model call: no request is sent, so it costs nothing and needs no key.
"""

from __future__ import annotations

import socket
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from workbench.errors import Problem
from workbench.models.registry import find_provider
from workbench.models.spec import ModelSpec

CONNECT_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Endpoint:
    model: ModelSpec
    url: str
    file: str | None
    field: str | None


def endpoint_of(model: ModelSpec) -> str | None:
    """The URL a model's calls go to; None for models with nothing to reach (the bundled one)."""
    provider = find_provider(model.provider)
    if provider is None or provider.endpoint is None:
        return None
    return provider.endpoint(model)


def unreachable(url: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str | None:
    """Why `url` cannot be reached, or None if a connection opens."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "it is not an http:// or https:// URL"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "its port is not a number from 0 to 65535"
    host, via = parts.hostname, ""
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        proxied = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if proxied.hostname:
            host, port, via = proxied.hostname, proxied.port or 80, f" (through the proxy {proxied.hostname})"
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except socket.gaierror:
        return f"the host {host} could not be found{via}"
    except ConnectionRefusedError:
        return f"the connection to {host}:{port} was refused{via}: nothing is listening there"
    except TimeoutError:
        return f"no answer from {host}:{port} within {timeout_s:g} s{via}"
    except OSError as exc:
        return f"cannot connect to {host}:{port}{via}: {exc.strerror or exc}"


def check_endpoints(endpoints: list[Endpoint]) -> list[Problem]:
    """Check every distinct URL once, all at the same time; one problem per model that cannot be reached."""
    urls = list(dict.fromkeys(e.url for e in endpoints))
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(urls))) as pool:
        reasons = dict(zip(urls, pool.map(unreachable, urls), strict=True))
    return [
        Problem(
            f"model {e.model.name} cannot be reached at {e.url}: {reasons[e.url]}",
            e.file,
            e.field,
            None,
            "start the server, or correct base_url (or the provider's address variable, e.g. OPENAI_BASE_URL); "
            "`workbench models check SPEC --ping` tries one call",
        )
        for e in endpoints
        if reasons[e.url] is not None
    ]


def model_endpoints(models: list[tuple[ModelSpec, str]], file: str | None) -> list[Endpoint]:
    """(model, field) pairs -> the endpoints to check."""
    found = []
    for model, field in models:
        url = endpoint_of(model)
        if url is not None:
            found.append(Endpoint(model, url, file, field))
    return found
