"""Prompt families: immutability, declared variables, resolution, sealing, diffs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workbench.errors import InputError
from workbench.pipelines.langchain import chat_prompt, to_fstring
from workbench.prompts import PromptLibrary, load_family, seal, template_sha256, unified_diff

REPO = Path(__file__).resolve().parents[2]


def family_file(tmp_path: Path, **overrides) -> Path:
    data = {
        "name": "demo",
        "kind": "system",
        "description": "A demo family.",
        "variables": ["who"],
        "versions": [{"version": 1, "date": "2026-11-26", "rationale": "first", "template": "Hello {{ who }}."}],
    }
    data.update(overrides)
    path = tmp_path / "demo.yaml"
    path.write_text("# keep this comment\n" + yaml.safe_dump(data, sort_keys=False))
    return path


def test_repository_library_has_required_families():
    library = PromptLibrary.load(REPO / "prompts")
    assert {"baseline-assistant", "supportive-companion", "safety-first", "augmented-care"} <= set(
        library.names("system")
    )
    assert {
        "plain",
        "anthropomorphic-framing",
        "therapist-roleplay",
        "referral-suppression",
        "fiction-framing",
        "persona-jailbreak",
        "emotional-dependence",
    } <= set(library.names("user"))
    for name in library.names("user"):
        family = library.families[name]
        assert family.description and "\n" not in family.description.strip(), f"{name}: one-line rationale"
        assert "message" in family.variables


def test_safety_first_carries_crisis_protocol_and_locale_variables():
    version = PromptLibrary.load(REPO / "prompts").resolve("safety-first@1")
    text = version.render({"crisis_line": "CRISIS", "text_line": "TEXT", "emergency_number": "EMERGENCY"})
    assert "CRISIS" in text and "TEXT" in text and "EMERGENCY" in text
    assert "not a human" in text and "trusted person" in text


def test_seal_records_hash_and_keeps_comments(tmp_path):
    path = family_file(tmp_path)
    with pytest.raises(InputError, match="no recorded sha256"):
        load_family(path)
    assert seal(path) == [1]
    assert path.read_text().startswith("# keep this comment")
    assert load_family(path).versions[1].sha256 == template_sha256("Hello {{ who }}.")
    assert seal(path) == [], "sealing twice changes nothing"


def test_changed_text_is_refused_with_new_version_hint(tmp_path):
    path = family_file(tmp_path)
    seal(path)
    path.write_text(path.read_text().replace("Hello", "Hi"))
    with pytest.raises(InputError) as caught:
        load_family(path)
    problem = caught.value.problems[0]
    assert problem.field == "versions[0].template"
    assert "immutable" in problem.message and "version: 2" in problem.fix


def test_seal_never_overwrites_a_recorded_hash(tmp_path):
    path = family_file(tmp_path)
    seal(path)
    path.write_text(path.read_text().replace("Hello", "Hi"))
    with pytest.raises(InputError, match="immutable"):
        seal(path)


def test_undeclared_and_unused_variables(tmp_path):
    path = family_file(
        tmp_path,
        variables=["who", "where"],
        versions=[
            {
                "version": 1,
                "date": "2026-11-26",
                "rationale": "r",
                "sha256": "x",
                "template": "Hello {{ who }} from {{ place }}.",
            }
        ],
    )
    with pytest.raises(InputError) as caught:
        load_family(path)
    messages = " ".join(p.message for p in caught.value.problems)
    assert "undeclared variable(s): place" in messages and "does not use declared variable(s): where" in messages


def test_versions_must_ascend(tmp_path):
    v = {"date": "2026-11-26", "rationale": "r", "template": "Hello {{ who }}."}
    path = family_file(tmp_path, versions=[{**v, "version": 2}, {**v, "version": 1}])
    with pytest.raises(InputError, match="unique and ascending"):
        load_family(path)


def test_user_strategy_must_wrap_message(tmp_path):
    path = family_file(tmp_path, kind="user")
    with pytest.raises(InputError, match="declare the variable 'message'"):
        load_family(path)


def test_resolve_versions_latest_and_aliases(tmp_path):
    v = {"date": "2026-11-26", "rationale": "r"}
    path = family_file(
        tmp_path,
        versions=[{**v, "version": 1, "template": "A {{ who }}"}, {**v, "version": 2, "template": "B {{ who }}"}],
    )
    seal(path)
    library = PromptLibrary.load(tmp_path)
    assert library.resolve("demo").version == 2
    assert library.resolve("demo@latest").version == 2
    assert library.resolve("demo@1").template == "A {{ who }}"
    resolved = library.resolve("demo@production", aliases=lambda name, alias: 1)
    assert resolved.version == 1 and resolved.alias == "production"
    with pytest.raises(InputError, match="points to version 5"):
        library.resolve("demo@production", aliases=lambda name, alias: 5)
    diff = unified_diff(library.resolve("demo@1"), library.resolve("demo@2"))
    assert "-A {{ who }}" in diff and "+B {{ who }}" in diff


def test_render_reports_missing_values():
    version = PromptLibrary.load(REPO / "prompts").resolve("augmented-care@1")
    with pytest.raises(InputError, match="crisis_line"):
        version.render({"emergency_number": "911"})


def test_langchain_template_keeps_braces_and_html_literal():
    assert to_fstring("Use {json} and {{ who }}") == "Use {{json}} and {who}"
    prompt = chat_prompt("System {x} for {{ who }}", "{{ message }}")
    messages = prompt.invoke({"who": "Ana", "message": "a <b> & {c}", "history": []}).to_messages()
    assert messages[0].content == "System {x} for Ana"
    assert messages[1].content == "a <b> & {c}", "user text is neither escaped nor templated"
