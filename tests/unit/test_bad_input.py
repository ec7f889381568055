"""Bad input gets a clear message (file, field, fix), exit code 2, no traceback and no
model call. Each case runs the real `workbench run` command on a throwaway project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from workbench.cli import app
from workbench.testing.loopback import LoopbackServer

runner = CliRunner()
built: list = []


@pytest.fixture(autouse=True)
def record_model_builds(monkeypatch):
    """Any model call needs a pipeline first; record whether one was ever built."""
    from workbench import runner as engine

    built.clear()
    original = engine.build_pipelines
    monkeypatch.setattr(engine, "build_pipelines", lambda *a, **k: built.append(a) or original(*a, **k))


def run_cli(*args: str):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def assert_refused(spec: Path, *expected: str) -> str:
    """Exit 2, the file and every expected fragment named, a fix given, nothing called."""
    code, output = run_cli("run", str(spec), "--no-track", "--quiet")
    assert code == 2, output
    assert "Traceback" not in output
    assert "nothing was run" in output
    assert "fix:" in output
    for fragment in expected:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    assert not built, "a bad spec must not build (let alone call) any model"
    return output


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_malformed_spec_yaml_names_line(project):
    spec = project / "experiments" / "broken.yaml"
    spec.write_text("name: broken\nsystem_prompts: [safety-first@1\nmodels: [local:smollm2-135m]\n")
    output = assert_refused(spec, "experiments/broken.yaml", "malformed YAML")
    assert re.search(r"broken\.yaml:\d+", output), "the line number is given"


def test_malformed_scenario_yaml(project, spec_writer):
    (project / "experiments" / "scenarios" / "everyday.yaml").write_text("suite: x\nscenarios:\n  - id: [oops\n")
    assert_refused(spec_writer(), "scenarios/everyday.yaml", "malformed YAML")


def test_malformed_prompt_yaml(project, spec_writer):
    (project / "prompts" / "system" / "safety-first.yaml").write_text(
        "name: safety-first\nkind: system\n  bad: indent\n"
    )
    assert_refused(spec_writer(), "prompts/system/safety-first.yaml", "malformed YAML")


def test_unknown_prompt_suggests_close_name(spec_writer):
    output = assert_refused(
        spec_writer(system_prompts=["safety-frist@1"]), "system_prompts[0]", "unknown system prompt 'safety-frist'"
    )
    assert "did you mean 'safety-first'" in output


def test_unknown_version_lists_versions(spec_writer):
    assert_refused(
        spec_writer(system_prompts=["safety-first@9"]),
        "system_prompts[0]",
        "has no version 9",
        "use one of its versions: 1",
    )


def test_unknown_alias(spec_writer):
    assert_refused(spec_writer(user_strategies=["plain@production"]), "user_strategies[0]", "no alias 'production'")


def test_user_strategy_given_as_system_prompt(spec_writer):
    assert_refused(spec_writer(system_prompts=["plain@1"]), "unknown system prompt 'plain'")


def test_malformed_prompt_reference(spec_writer):
    assert_refused(spec_writer(system_prompts=["safety first@@1"]), "is not a prompt reference", "NAME@VERSION")


def test_template_variable_without_value(project, spec_writer):
    path = project / "prompts" / "system" / "clinic.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "clinic",
                "kind": "system",
                "description": "Names the clinic.",
                "variables": ["clinic_name"],
                "versions": [
                    {
                        "version": 1,
                        "date": "2026-11-26",
                        "rationale": "test",
                        "template": "You work for {{ clinic_name }}.",
                    }
                ],
            }
        )
    )
    from workbench.prompts import seal

    seal(path)
    assert_refused(spec_writer(system_prompts=["clinic@1"]), "variables", "clinic_name", "have no value")


def test_extra_variable_in_spec(spec_writer):
    assert_refused(
        spec_writer(variables={"clinc_name": "x"}), "variables", "clinc_name", "not used by any selected prompt"
    )


def test_undeclared_variable_in_template(project, spec_writer):
    path = project / "prompts" / "user" / "plain.yaml"
    edit_yaml(
        path,
        lambda d: d["versions"].append(
            {"version": 2, "date": "2026-11-27", "rationale": "adds a name", "template": "{{ message }} {{ name }}"}
        ),
    )
    assert_refused(spec_writer(), "prompts/user/plain.yaml", "versions[1].template", "undeclared variable(s): name")


def test_unused_declared_variable(project, spec_writer):
    path = project / "prompts" / "system" / "baseline-assistant.yaml"
    edit_yaml(path, lambda d: d.update(variables=["locale_name"]))
    assert_refused(spec_writer(), "baseline-assistant.yaml", "does not use declared variable(s): locale_name")


def test_changed_text_under_existing_version(project, spec_writer):
    path = project / "prompts" / "system" / "safety-first.yaml"
    original = path.read_text()
    path.write_text(original.replace("Never give", "Rarely give", 1))
    assert path.read_text() != original
    assert_refused(
        spec_writer(),
        "safety-first.yaml",
        "versions[0].template",
        "versions are immutable",
        "add your change as a new version (version: 2)",
    )


@pytest.mark.parametrize("label", ["risk_level", "category"])
def test_scenario_missing_label(project, spec_writer, label):
    path = project / "experiments" / "scenarios" / "everyday.yaml"
    edit_yaml(path, lambda d: d["scenarios"][0].pop(label))
    assert_refused(spec_writer(), "scenarios/everyday.yaml", f"scenarios[0].{label}", f"'{label}' is missing")


def test_scenario_missing_expectation(project, spec_writer):
    path = project / "experiments" / "scenarios" / "everyday.yaml"
    edit_yaml(path, lambda d: d["scenarios"][2]["expectations"].pop("must_escalate"))
    assert_refused(spec_writer(), "scenarios[2].expectations.must_escalate", "'must_escalate' is missing")


def test_scenario_bad_risk_level_lists_allowed_values(project, spec_writer):
    path = project / "experiments" / "scenarios" / "everyday.yaml"
    edit_yaml(path, lambda d: d["scenarios"][1].update(risk_level="severe"))
    assert_refused(spec_writer(), "scenarios[1].risk_level", "'none', 'low', 'high' or 'imminent'", "'severe'")


def test_imminent_scenario_without_escalation(project, spec_writer):
    path = project / "experiments" / "scenarios" / "suicide_risk.yaml"

    def change(data):
        item = next(s for s in data["scenarios"] if s["risk_level"] == "imminent")
        item["expectations"]["must_escalate"] = False

    edit_yaml(path, change)
    assert_refused(spec_writer(), "suicide_risk.yaml", "must have must_escalate: true")


def test_unknown_provider(spec_writer):
    output = assert_refused(spec_writer(models=["opnai:gpt-4o-mini"]), "models[0]", "unknown provider 'opnai'")
    assert "did you mean 'openai:gpt-4o-mini'" in output


def test_missing_api_key(spec_writer, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert_refused(spec_writer(models=["openai:gpt-4o-mini"]), "models[0]", "OPENAI_API_KEY", "export OPENAI_API_KEY=")


def test_missing_key_in_named_variable(spec_writer, monkeypatch):
    monkeypatch.delenv("MY_VLLM_KEY", raising=False)
    spec = spec_writer(
        models=[{"spec": "openai:qwen", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "MY_VLLM_KEY"}]
    )
    assert_refused(spec, "models[0]", "MY_VLLM_KEY")


def test_key_pasted_instead_of_variable_name(spec_writer):
    spec = spec_writer(models=[{"spec": "openai:gpt-4o", "api_key_env": "sk-proj-abc123"}])
    output = assert_refused(spec, "models[0].api_key_env", "must name an environment variable")
    assert "sk-proj-abc123" not in output, "a pasted key is never echoed back"


def test_missing_provider_package(spec_writer, monkeypatch):
    from workbench.models import registry as providers

    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
    monkeypatch.setattr(providers.Provider, "installed", lambda self: self.name != "anthropic")
    assert_refused(
        spec_writer(models=["anthropic:claude-3-5-haiku-latest"]),
        "models[0]",
        "langchain-anthropic",
        "alliance-workbench[anthropic]",
    )


@pytest.mark.parametrize("repeats", [0, -3])
def test_non_positive_repeats(spec_writer, repeats):
    assert_refused(spec_writer(repeats=repeats), "repeats", "greater than 0", f"got {repeats}")


def test_misspelled_field_lists_allowed_fields(project):
    spec = write_raw(
        project,
        "name: typo\nsystem_prompts: [safety-first@1]\nscenarios: {files: [scenarios]}\n"
        "models: [local:smollm2-135m]\nrepeat: 3\n",
    )
    assert_refused(spec, "repeat", "unknown field 'repeat'", "allowed fields here:", "repeats")


def test_missing_required_field(project):
    spec = write_raw(project, "name: nomodel\nsystem_prompts: [safety-first@1]\nscenarios: {files: [scenarios]}\n")
    assert_refused(spec, "models", "'models' is missing")


def test_unknown_scorer(spec_writer):
    assert_refused(spec_writer(scorers=["empathy", "kindness"]), "scorers[1]", "unknown scorer 'kindness'")


def test_unknown_locale(spec_writer):
    assert_refused(spec_writer(locale="XX"), "locale", "unknown locale 'XX'")


def test_filters_matching_nothing(spec_writer):
    assert_refused(
        spec_writer(scenarios={"files": ["scenarios"], "categories": ["grief"], "risk_levels": ["imminent"]}),
        "scenarios",
        "match no scenario",
    )


def test_missing_scenario_file(spec_writer):
    assert_refused(
        spec_writer(scenarios={"files": ["nowhere.yaml"]}),
        "experiments/spec.yaml",
        "scenarios.files[0]",
        "nowhere.yaml",
    )


def test_several_problems_reported_at_once(spec_writer, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    output = assert_refused(
        spec_writer(system_prompts=["nope@1"], models=["openai:gpt-4o"], scorers=["x"]), "3 problems"
    )
    assert "unknown system prompt 'nope'" in output and "OPENAI_API_KEY" in output and "unknown scorer" in output


def test_no_call_reaches_an_endpoint_when_the_spec_is_bad(spec_writer):
    with LoopbackServer() as server:
        spec = spec_writer(models=[{"spec": "openai:loopback", "base_url": server.base_url}], repeats=0)
        assert_refused(spec, "repeats")
        assert server.requests == []


def write_raw(project: Path, text: str) -> Path:
    path = project / "experiments" / "raw.yaml"
    path.write_text(text)
    return path


def test_the_no_call_check_sees_a_good_run(spec_writer):
    """Guards the guard: a valid spec does build its model, so `built` would catch a bad one."""
    with LoopbackServer() as server:
        code, output = run_cli(
            "run",
            str(spec_writer(models=[{"spec": "openai:loopback", "base_url": server.base_url}])),
            "--no-track",
            "--quiet",
        )
        assert code == 0, output
        assert built and len(server.requests) == 4
