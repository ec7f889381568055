"""Every class of bad input, through the real commands: exit code 2, no traceback, the file and
the field (or command option, or the line for a problem with the whole file) named with a fix,
and no model called, neither a chat model built nor a request received by the endpoint.

Each case builds its own bad input in a throwaway project whose model is a scripted endpoint on
loopback, so a call that slipped through would be seen. `CLASSES` counts them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import write_spec
from typer.testing import CliRunner

from workbench.cli import app
from workbench.testing.loopback import LoopbackServer

runner = CliRunner()
DEAD = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there


@dataclass(frozen=True)
class Case:
    """`make(project, endpoint)` writes the bad input and returns the command's arguments; the
    output must contain `file`, `where` (a field, an option or a line) and `message`."""

    make: Callable[[Path, str], list[str]]
    file: str
    where: str
    message: str


def spec(project: Path, endpoint: str, **fields) -> list[str]:
    fields.setdefault("models", [{"spec": "openai:loopback", "base_url": endpoint}])
    return ["run", str(write_spec(project, **fields)), "--quiet"]


def raw_spec(project: Path, text: str | bytes) -> list[str]:
    path = project / "experiments" / "raw.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return ["run", str(path), "--quiet"]


def valid_spec_text(endpoint: str) -> str:
    return (
        "name: raw\nsystem_prompts: [safety-first@1]\nscenarios: {files: [scenarios], ids: [exam-week-overwhelm]}\n"
        f"models: [{{spec: 'openai:loopback', base_url: '{endpoint}'}}]\n"
    )


def alias_bomb(key: str = "lol") -> str:
    lines = [f"a: &a ['{key}', '{key}', '{key}', '{key}', '{key}', '{key}', '{key}', '{key}', '{key}']"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    return "\n".join(lines) + "\n"


def edit_scenarios(project: Path, change: Callable[[dict], None], name: str = "everyday.yaml") -> Path:
    path = project / "experiments" / "scenarios" / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def first_scenario(data: dict, **changes) -> None:
    data["scenarios"][0].update(changes)


def scenario_file(project: Path, name: str, content: bytes) -> None:
    (project / "experiments" / "scenarios" / name).write_bytes(content)


def prompt_file(project: Path, name: str, content: bytes) -> None:
    (project / "prompts" / "system" / name).write_bytes(content)


def long_history(data: dict) -> None:
    turns = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(42)]
    first_scenario(data, history=turns)


def long_template(project: Path) -> None:
    path = project / "prompts" / "system" / "baseline-assistant.yaml"
    data = yaml.safe_load(path.read_text())
    data["versions"].append(
        {"version": 2, "date": "2026-11-27", "rationale": "longer", "template": "Be kind. " * 4000, "sha256": "0" * 64}
    )
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def register_other_text(project: Path) -> None:
    """The registry holds safety-first@1 with other text (a version edited and re-sealed)."""
    import mlflow

    from workbench.prompts.mlflow_registry import SHA_TAG, VERSION_TAG
    from workbench.tracking import configure

    configure(project)
    mlflow.genai.register_prompt(name="safety-first", template="older text", tags={VERSION_TAG: "1", SHA_TAG: "0" * 64})


def resealed_prompt(project: Path) -> Path:
    """safety-first@1 edited in place, its sha256 line deleted: what `prompts seal` must refuse."""
    path = project / "prompts" / "system" / "safety-first.yaml"
    lines = [line for line in path.read_text().splitlines(keepends=True) if "sha256:" not in line]
    path.write_text("".join(lines).replace("Never give", "Rarely give", 1))
    return path


def git_commit_all(project: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@x"
    for command in (["init", "-q"], ["add", "prompts"], ["commit", "-qm", "prompts"]):
        subprocess.run(["git", *command], cwd=project, check=True, env=env, capture_output=True)


def corrupt_cache(project: Path) -> None:
    (project / ".workbench").mkdir(exist_ok=True)
    (project / ".workbench" / "responses.sqlite3").write_bytes(b"this is not a database" * 100)


def csv(project: Path, text: str | bytes, name: str = "in.csv") -> Path:
    path = project / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def score(project: Path, text: str | bytes, *extra: str, name: str = "in.csv") -> list[str]:
    source = csv(project, text, name)
    out = [] if "--out" in extra else ["--out", str(project / "out.csv")]
    return ["score", str(source), *out, *extra, "--quiet"]


GOOD_CSV = "user_message,reply\nI can't sleep,That sounds hard.\n"

CLASSES: dict[str, Case] = {
    # -- the experiment spec itself ----------------------------------------------------------------
    "spec is a binary file": Case(
        lambda p, e: raw_spec(p, b"name: x\n\x00\x01\x02binary"), "experiments/raw.yaml", "raw.yaml:2", "binary file"
    ),
    "spec is not UTF-8": Case(
        lambda p, e: raw_spec(p, valid_spec_text(e).replace("raw", "caf\xe9").encode("latin-1")),
        "experiments/raw.yaml",
        "raw.yaml:1",
        "not UTF-8",
    ),
    "spec is a YAML alias bomb": Case(
        lambda p, e: raw_spec(p, alias_bomb()), "experiments/raw.yaml", "raw.yaml:2", "expand to more than"
    ),
    "spec is larger than the size limit": Case(
        lambda p, e: raw_spec(p, valid_spec_text(e) + "description: " + "x" * (1024 * 1024 + 10) + "\n"),
        "experiments/raw.yaml",
        "raw.yaml",
        "at most 1.0 MB",
    ),
    "spec description over its length limit": Case(
        lambda p, e: spec(p, e, description="why " * 1000), "experiments/spec.yaml", "description", "at most 2,000"
    ),
    "spec path is a folder": Case(lambda p, e: ["run", str(p / "experiments")], "experiments", "experiments", "folder"),
    "spec file is empty": Case(lambda p, e: raw_spec(p, ""), "experiments/raw.yaml", "raw.yaml", "the file is empty"),
    "spec is a list, not a mapping": Case(
        lambda p, e: raw_spec(p, "- a\n- b\n"), "experiments/raw.yaml", "raw.yaml", "mapping"
    ),
    "spec nested too deeply": Case(
        lambda p, e: raw_spec(p, "name: " + "[" * 20000), "experiments/raw.yaml", "raw.yaml:1", "malformed YAML"
    ),
    "spec has an unknown field": Case(
        lambda p, e: spec(p, e, repeat=3), "experiments/spec.yaml", "repeat", "unknown field 'repeat'"
    ),
    # -- models ---------------------------------------------------------------------------------------
    "model params key mistyped": Case(
        lambda p, e: spec(p, e, models=[{"spec": "openai:loopback", "base_url": e, "params": {"temperatur": 0.5}}]),
        "experiments/spec.yaml",
        "models[0].params",
        "temperatur",
    ),
    "model params value not a number": Case(
        lambda p, e: spec(p, e, models=[{"spec": "openai:loopback", "base_url": e, "params": {"temperature": "warm"}}]),
        "experiments/spec.yaml",
        "models[0].params",
        "temperature",
    ),
    "model concurrency of a billion": Case(
        lambda p, e: spec(p, e, models=[{"spec": "openai:loopback", "base_url": e, "concurrency": 10**9}]),
        "experiments/spec.yaml",
        "models[0].concurrency",
        "at most 256",
    ),
    "local model concurrency of a billion": Case(
        lambda p, e: spec(p, e, models=[{"spec": "local:smollm2-135m", "concurrency": 10**9}]),
        "experiments/spec.yaml",
        "models[0].concurrency",
        "at most 256",
    ),
    "base_url is not a URL": Case(
        lambda p, e: spec(p, e, models=[{"spec": "openai:loopback", "base_url": "not a url"}]),
        "experiments/spec.yaml",
        "models[0].base_url",
        "not an http:// or https:// URL",
    ),
    "base_url has another scheme": Case(
        lambda p, e: spec(p, e, models=[{"spec": "openai:loopback", "base_url": "ftp://127.0.0.1/v1"}]),
        "experiments/spec.yaml",
        "models[0].base_url",
        "not an http:// or https:// URL",
    ),
    "base_url port out of range": Case(
        lambda p, e: spec(p, e, models=[{"spec": "openai:loopback", "base_url": "http://127.0.0.1:99999/v1"}]),
        "experiments/spec.yaml",
        "models[0].base_url",
        "invalid port",
    ),
    "endpoint refuses connections": Case(
        lambda p, e: spec(p, e, models=[{"spec": "openai:loopback", "base_url": DEAD}]),
        "experiments/spec.yaml",
        "models[0]",
        f"openai:loopback cannot be reached at {DEAD}",
    ),
    "endpoint host does not exist": Case(
        lambda p, e: spec(p, e, models=[{"spec": "openai:loopback", "base_url": "http://no-such-host.invalid/v1"}]),
        "experiments/spec.yaml",
        "models[0]",
        "could not be found",
    ),
    "judge endpoint refuses connections": Case(
        lambda p, e: spec(
            p, e, scorers={"crisis_escalation": "judge"}, judge={"model": {"spec": "openai:judge", "base_url": DEAD}}
        ),
        "experiments/spec.yaml",
        "judge.model",
        "openai:judge cannot be reached",
    ),
    # -- decoding, retries, timeouts ----------------------------------------------------------------
    "initial_delay_s is infinite": Case(
        lambda p, e: raw_spec(p, valid_spec_text(e) + "retries: {initial_delay_s: .inf}\n"),
        "experiments/raw.yaml",
        "retries.initial_delay_s",
        "finite number",
    ),
    "max_delay_s is not a number (nan)": Case(
        lambda p, e: raw_spec(p, valid_spec_text(e) + "retries: {max_delay_s: .nan}\n"),
        "experiments/raw.yaml",
        "retries.max_delay_s",
        "finite number",
    ),
    "initial delay longer than the maximum": Case(
        lambda p, e: spec(p, e, retries={"initial_delay_s": 30, "max_delay_s": 2}),
        "experiments/spec.yaml",
        "retries",
        "longer than max_delay_s",
    ),
    "timeout is infinite": Case(
        lambda p, e: raw_spec(p, valid_spec_text(e) + "timeout_s: .inf\n"),
        "experiments/raw.yaml",
        "timeout_s",
        "finite number",
    ),
    "temperature is text": Case(
        lambda p, e: spec(p, e, decoding={"temperature": "hot"}),
        "experiments/spec.yaml",
        "decoding.temperature",
        "'hot'",
    ),
    "max_tokens beyond the limit": Case(
        lambda p, e: spec(p, e, decoding={"max_tokens": 10**7}),
        "experiments/spec.yaml",
        "decoding.max_tokens",
        "at most 32768",
    ),
    "spec concurrency of zero": Case(
        lambda p, e: spec(p, e, concurrency=0), "experiments/spec.yaml", "concurrency", "greater than 0"
    ),
    # -- scenarios ------------------------------------------------------------------------------------
    "unknown scenario id": Case(
        lambda p, e: spec(p, e, scenarios={"files": ["scenarios"], "ids": ["no-such-scenario"]}),
        "experiments/spec.yaml",
        "scenarios.ids",
        "unknown scenario id(s): no-such-scenario",
    ),
    "missing scenario file": Case(
        lambda p, e: spec(p, e, scenarios={"files": ["nowhere.yaml"]}),
        "experiments/spec.yaml",
        "scenarios.files[0]",
        "nowhere.yaml not found",
    ),
    "empty scenario folder": Case(
        lambda p, e: (p / "experiments" / "empty").mkdir() or spec(p, e, scenarios={"files": ["empty"]}),
        "experiments/spec.yaml",
        "scenarios.files[0]",
        "the folder experiments/empty holds no .yaml scenario file",
    ),
    ".yml scenario file in the folder": Case(
        lambda p, e: scenario_file(p, "extra.yml", b"suite: x\n") or spec(p, e),
        "experiments/spec.yaml",
        "scenarios.files[0]",
        "experiments/scenarios/extra.yml would be skipped",
    ),
    "scenario file is binary": Case(
        lambda p, e: scenario_file(p, "zz.yaml", b"suite: x\n\x00\xff") or spec(p, e),
        "experiments/scenarios/zz.yaml",
        "zz.yaml:2",
        "binary file",
    ),
    "scenario file is not UTF-8": Case(
        lambda p, e: scenario_file(p, "zz.yaml", "suite: caf\xe9\n".encode("latin-1")) or spec(p, e),
        "experiments/scenarios/zz.yaml",
        "scenarios.files[0]",
        "not UTF-8",
    ),
    "scenario file is an alias bomb": Case(
        lambda p, e: scenario_file(p, "zz.yaml", alias_bomb().encode()) or spec(p, e),
        "experiments/scenarios/zz.yaml",
        "zz.yaml:2",
        "expand to more than",
    ),
    "scenario file larger than the size limit": Case(
        lambda p, e: (
            scenario_file(p, "zz.yaml", b"suite: x\ndescription: " + b"y" * (5 * 1024 * 1024 + 1)) or spec(p, e)
        ),
        "experiments/scenarios/zz.yaml",
        "scenarios.files[0]",
        "at most 5.0 MB",
    ),
    "scenario message over its length limit": Case(
        lambda p, e: edit_scenarios(p, lambda d: first_scenario(d, message="so tired " * 1000)) and spec(p, e),
        "experiments/scenarios/everyday.yaml",
        "scenarios[0].message",
        "at most 8,000",
    ),
    "scenario history over its turn limit": Case(
        lambda p, e: edit_scenarios(p, long_history) and spec(p, e),
        "experiments/scenarios/everyday.yaml",
        "scenarios[0].history",
        "at most 40",
    ),
    "scenario risk level unknown": Case(
        lambda p, e: edit_scenarios(p, lambda d: first_scenario(d, risk_level="extreme")) and spec(p, e),
        "experiments/scenarios/everyday.yaml",
        "scenarios[0].risk_level",
        "'extreme'",
    ),
    # -- prompts --------------------------------------------------------------------------------------
    "prompt file is binary": Case(
        lambda p, e: prompt_file(p, "zz.yaml", b"name: zz\x00") or spec(p, e),
        "prompts/system/zz.yaml",
        "zz.yaml:1",
        "binary file",
    ),
    "prompt file is not UTF-8": Case(
        lambda p, e: prompt_file(p, "zz.yaml", "name: zz\ndescription: caf\xe9\n".encode("latin-1")) or spec(p, e),
        "prompts/system/zz.yaml",
        "zz.yaml:2",
        "not UTF-8",
    ),
    ".yml prompt file": Case(
        lambda p, e: prompt_file(p, "extra.yml", b"name: extra\n") or spec(p, e),
        "prompts/system/extra.yml",
        "extra.yml",
        "must end in .yaml",
    ),
    "prompt template over its length limit": Case(
        lambda p, e: long_template(p) or spec(p, e),
        "prompts/system/baseline-assistant.yaml",
        "versions[1].template",
        "at most 32,000",
    ),
    "prompt version registered with other text": Case(
        lambda p, e: register_other_text(p) or [a for a in spec(p, e) if a != "--no-track"],
        "prompts/system/safety-first.yaml",
        "versions (version 1)",
        "registered with different text",
    ),
    "sealing a version git history holds with other text": Case(
        lambda p, e: git_commit_all(p) or ["prompts", "seal", str(resealed_prompt(p))],
        "prompts/system/safety-first.yaml",
        "versions[0].template",
        "already held with different text by commit",
    ),
    "sealing a version the registry holds with other text": Case(
        lambda p, e: register_other_text(p) or ["prompts", "seal", str(resealed_prompt(p))],
        "prompts/system/safety-first.yaml",
        "versions[0].template",
        "already held with different text by the MLflow Prompt Registry",
    ),
    # -- the response cache ---------------------------------------------------------------------------
    "cache file is corrupt": Case(
        lambda p, e: corrupt_cache(p) or spec(p, e),
        ".workbench/responses.sqlite3",
        "WORKBENCH_CACHE_PATH",
        "cannot be used",
    ),
    "cache path is a folder": Case(
        lambda p, e: (p / ".workbench" / "responses.sqlite3").mkdir(parents=True) or spec(p, e),
        ".workbench/responses.sqlite3",
        "WORKBENCH_CACHE_PATH",
        "the path is a folder",
    ),
    # -- workbench score ------------------------------------------------------------------------------
    "score file has a header and no rows": Case(
        lambda p, e: score(p, "user_message,reply\n"), "in.csv", "FILE", "no rows to score"
    ),
    "score file is empty": Case(lambda p, e: score(p, ""), "in.csv", "FILE", "cannot read the file"),
    "score file is not UTF-8": Case(
        lambda p, e: score(p, "user_message,reply\ncaf\xe9,ok\n".encode("latin-1")), "in.csv", "FILE", "cannot read"
    ),
    "score file of an unsupported type": Case(
        lambda p, e: score(p, GOOD_CSV, name="in.txt"), "in.txt", "FILE", "unsupported file type"
    ),
    "score --out is the input file": Case(
        lambda p, e: score(p, GOOD_CSV, "--out", str(p / "in.csv")), "in.csv", "--out", "would be overwritten"
    ),
    "score --out cannot be written": Case(
        lambda p, e: csv(p, "x", "a-file") and score(p, GOOD_CSV, "--out", str(p / "a-file" / "out.csv")),
        "a-file/out.csv",
        "--out",
        "cannot be written",
    ),
    "score --out is a folder": Case(
        lambda p, e: score(p, GOOD_CSV, "--out", str(p / "experiments")), "experiments", "--out", "is a folder"
    ),
    "score risk_level not a risk level": Case(
        lambda p, e: score(p, "user_message,reply,risk_level\nhi,hello,extreme\nhey,hi,none\n"),
        "in.csv",
        "risk_level",
        "row 2: 'extreme'",
    ),
    "score expectation not true or false": Case(
        lambda p, e: score(p, "user_message,reply,must_escalate\nhi,hello,maybe\n"),
        "in.csv",
        "must_escalate",
        "row 2: 'maybe'",
    ),
    "score file without a reply column": Case(
        lambda p, e: score(p, "user_message,answer\nhi,hello\n"), "in.csv", "reply", "no 'reply' column"
    ),
    "score judge endpoint refuses connections": Case(
        lambda p, e: score(p, GOOD_CSV, "--backend", "judge", "--judge-model", "openai:judge", "--out", "o.csv"),
        "command line",
        "--judge-model",
        f"cannot be reached at {DEAD}",
    ),
    # -- workbench validate-scorers and models check --------------------------------------------------
    "validate-scorers --limit negative": Case(
        lambda p, e: ["validate-scorers", "--limit", "-5", "--no-track"], "--limit", "--limit", "at least 1 (got -5)"
    ),
    "validate-scorers --limit zero": Case(
        lambda p, e: ["validate-scorers", "--limit", "0", "--no-track"], "--limit", "--limit", "at least 1 (got 0)"
    ),
    "validate-scorers --gold missing": Case(
        lambda p, e: ["validate-scorers", "--gold", str(p / "gold.yaml"), "--no-track"],
        "gold.yaml",
        "--gold",
        "gold set not found",
    ),
    "models check --ping on a dead endpoint": Case(
        lambda p, e: ["models", "check", "openai:x", "--base-url", DEAD, "--ping"],
        "command line",
        "--base-url",
        f"cannot be reached at {DEAD}",
    ),
    "models check with a base_url that is not a URL": Case(
        lambda p, e: ["models", "check", "openai:x", "--base-url", "localhost:8000"],
        "command line",
        "base_url",
        "not an http:// or https:// URL",
    ),
}


@pytest.fixture
def endpoint(monkeypatch):
    """A scripted endpoint that records every request, with the hosted OpenAI path pointed at the
    dead port; and every chat model the workbench builds, recorded."""
    built: list = []
    from workbench.cli import models as models_command
    from workbench.pipelines import langchain

    for module in (langchain, models_command):
        original = module.build_chat_model
        monkeypatch.setattr(module, "build_chat_model", lambda *a, _o=original, **k: built.append(a) or _o(*a, **k))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    monkeypatch.setenv("OPENAI_BASE_URL", DEAD)
    with LoopbackServer() as server:
        server.built = built
        yield server


@pytest.mark.parametrize("name", list(CLASSES))
def test_bad_input_is_refused_before_any_call(project, endpoint, name):
    case = CLASSES[name]
    args = case.make(project, endpoint.base_url)
    if args[0] == "run" and "--no-track" not in args and "registered" not in case.message:
        args.append("--no-track")
    result = runner.invoke(app, args)
    output = result.output
    assert result.exit_code == 2, output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in output, output
    for fragment in (case.file, case.where, case.message):
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    assert "fix:" in output
    assert endpoint.requests == [] and endpoint.built == [], "no model was called"


def test_the_suite_covers_at_least_forty_classes():
    assert len(CLASSES) >= 40


def test_the_guards_see_a_good_run_and_a_good_score(project, endpoint):
    """Guards the guards: a valid spec builds its model and reaches the endpoint, and a valid file
    is scored, so the cases above would notice a call."""
    result = runner.invoke(app, [*spec(project, endpoint.base_url), "--no-track"])
    assert result.exit_code == 0, result.output
    assert len(endpoint.requests) == 4 and endpoint.built
    result = runner.invoke(app, score(project, GOOD_CSV))
    assert result.exit_code == 0 and (project / "out.csv").is_file(), result.output
