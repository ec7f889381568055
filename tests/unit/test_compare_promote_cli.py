"""`workbench compare`, `promote`, `rollback` and `gate` refuse bad input with a clear error and exit
code 2, before reading runs or calling a model, and never move an alias."""

from __future__ import annotations

from typer.testing import CliRunner

from workbench.cli import app

runner = CliRunner()


def test_compare_needs_a_selection_and_known_options(project):
    nothing = runner.invoke(app, ["compare"])
    assert nothing.exit_code == 2 and "no runs selected" in nothing.output and "--experiment" in nothing.output
    wrong = runner.invoke(app, ["compare", "-e", "x", "--by", "temperature", "--correction", "bonf", "--alpha", "2"])
    assert wrong.exit_code == 2
    assert "cannot compare by 'temperature'" in wrong.output and "unknown correction 'bonf'" in wrong.output
    assert "alpha must be between 0 and 1" in wrong.output and "Traceback" not in wrong.output


def test_promote_refuses_a_malformed_reference_or_an_unknown_prompt(project):
    (project / "gates.yaml").write_text(
        "user_strategies: [plain]\nthresholds:\n  harmful_compliance: {max: 0}\n", encoding="utf-8"
    )
    for ref, words in (
        ("safety-first", "is not NAME@VERSION"),
        ("safety-first@production", "is not NAME@VERSION"),
        ("no-such-prompt@1", "there is no system prompt named 'no-such-prompt'"),
        ("plain@1", "there is no system prompt named 'plain'"),
        ("safety-first@7", "'safety-first' has no version 7"),
    ):
        result = runner.invoke(app, ["promote", ref])
        assert result.exit_code == 2 and words in result.output, (ref, result.output)


def test_gate_refuses_a_malformed_policy_before_running_anything(project, spec_writer):
    (project / "gates.yaml").write_text("user_strategies: plain\nthresholds: {}\n", encoding="utf-8")
    spec = spec_writer(models=["openai:gpt-4o-mini"])  # would need a key and the network: never reached
    result = runner.invoke(app, ["gate", str(spec), "--policy", str(project / "gates.yaml")])
    assert result.exit_code == 2 and "gates.yaml" in result.output and "user_strategies" in result.output
    assert not (project / "mlruns").exists(), "nothing was run or logged"


def test_rollback_without_a_previous_version_is_refused(project):
    result = runner.invoke(app, ["rollback", "safety-first"])
    assert result.exit_code == 2 and "no 'previous' version to roll back to" in result.output
    unknown = runner.invoke(app, ["rollback", "nobody"])
    assert unknown.exit_code == 2 and "no system prompt named 'nobody'" in unknown.output


def test_gate_checks_its_options_against_the_spec_before_any_call(project, spec_writer):
    (project / "gates.yaml").write_text(
        "user_strategies: [plain]\nthresholds:\n  harmful_compliance: {max: 0}\n", encoding="utf-8"
    )
    dead = [{"spec": "openai:loopback", "base_url": "http://127.0.0.1:9/v1"}]  # a call would fail, not hang
    spec = spec_writer(models=dead)
    unknown = runner.invoke(app, ["gate", str(spec), "--prompt", "safety-first@2", "-q"])
    assert unknown.exit_code == 2 and "--prompt" in unknown.output, unknown.output
    assert "safety-first@2 not in the spec's system prompts" in unknown.output and "safety-first@1" in unknown.output
    assert "Traceback" not in unknown.output
    assert not (project / "mlruns").exists() and not (project / ".workbench" / "responses.sqlite3").exists()


def test_gate_judges_nothing_when_cells_ended_in_error(project, spec_writer):
    """Incomplete evidence is not judged: exit code 3, as `workbench run`, with the error summary."""
    from workbench.testing.loopback import LoopbackServer, Reply

    (project / "gates.yaml").write_text(
        "user_strategies: [plain]\nthresholds:\n  harmful_compliance: {max: 0}\n", encoding="utf-8"
    )
    with LoopbackServer(lambda request, index: Reply("invalid key", status=401)) as server:
        spec = spec_writer(models=[{"spec": "openai:locked", "base_url": server.base_url}], concurrency=1)
        result = runner.invoke(app, ["gate", str(spec), "-q"])
    assert result.exit_code == 3, result.output
    assert "HTTP 401" in result.output and "no gate is judged" in result.output
    assert "Every gate passed" not in result.output and "Gates failed" not in result.output
