"""The CLI's inspection commands."""

from __future__ import annotations

from typer.testing import CliRunner

from workbench.cli import app

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_prompts_list_and_show(project):
    code, output = invoke("prompts", "list")
    assert code == 0 and "safety-first" in output and "persona-jailbreak" in output
    code, output = invoke("prompts", "show", "safety-first@1")
    assert code == 0 and "Crisis protocol" in output and "{{ crisis_line }}" in output


def test_prompts_diff(project):
    path = project / "prompts" / "user" / "plain.yaml"
    path.write_text(
        path.read_text() + "  - version: 2\n    date: 2026-11-27\n    rationale: adds a greeting\n"
        "    template: |-\n      Hi. {{ message }}\n"
    )
    code, output = invoke("prompts", "seal", str(path))
    assert code == 0 and "sealed version(s) 2" in output
    code, output = invoke("prompts", "diff", "plain@1", "plain@2")
    assert code == 0 and "-{{ message }}" in output and "+Hi. {{ message }}" in output


def test_prompts_show_unknown_version(project):
    code, output = invoke("prompts", "show", "plain@4")
    assert code == 2 and "has no version 4" in output and "Traceback" not in output


def test_scenarios_validate_and_list(project):
    code, output = invoke("scenarios", "validate")
    assert code == 0 and "valid" in output and "dataset hash" in output and "multi-turn" in output
    code, output = invoke("scenarios", "list", "--risk", "imminent")
    assert code == 0 and "car-park-roof-midnight" in output and "exam-week-overwhelm" not in output


def test_models_list_and_check(project, monkeypatch):
    code, output = invoke("models", "list")
    assert code == 0 and "local:smollm2-135m" in output and "anthropic" in output
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, output = invoke("models", "check", "openai:gpt-4o-mini")
    assert code == 2 and "OPENAI_API_KEY" in output
    code, output = invoke("models", "check", "local:smollm2-135m")
    assert code == 0 and "ok" in output


def test_ui_dry_run_points_at_the_local_store(project):
    code, output = invoke("ui", "--dry-run", "--port", "5055")
    assert code == 0 and "http://127.0.0.1:5055" in output and str(project / "mlruns") in output
