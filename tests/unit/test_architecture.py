"""The package's shape, checked from its source: module-level imports form no cycle, data flows
one way (spec -> plan -> responses -> scoring -> tracking), test doubles stay out of the
package, and only `tracking.traces` reaches into MLflow's internals."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "workbench"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
DECLARATIONS = {"workbench.scoring.registry", "workbench.scoring.learned.versions"}  # names a spec is checked against


def top_level_imports(path: Path) -> set[str]:
    """Modules imported when `path` is imported (not inside functions, not for type checking)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in (
            ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else ()
        ):
            if isinstance(sub, ast.Import):
                found.update(alias.name for alias in sub.names)
            elif isinstance(sub, ast.ImportFrom) and sub.module:
                for alias in sub.names:  # `from package import submodule` depends on the submodule
                    submodule = f"{sub.module}.{alias.name}"
                    found.add(submodule if submodule in MODULES else sub.module)
    return found


def internal_imports(module: str) -> set[str]:
    return {name for name in top_level_imports(MODULES[module]) if name in MODULES and name != module}


GRAPH = {module: internal_imports(module) for module in MODULES}


def test_module_level_imports_have_no_cycle():
    visiting, done, cycles = set(), set(), []

    def visit(module: str, path: list[str]) -> None:
        if module in done:
            return
        if module in visiting:
            cycles.append([*path[path.index(module) :], module])
            return
        visiting.add(module)
        for target in sorted(GRAPH[module]):
            visit(target, [*path, module])
        visiting.discard(module)
        done.add(module)

    for module in sorted(GRAPH):
        visit(module, [])
    assert not cycles, cycles


LATER_STAGES = {
    # a module in the first group may not import any module in the second
    (
        "workbench.calls",
        "workbench.pipelines",
        "workbench.models",
        "workbench.prompts",
        "workbench.scenarios",
        "workbench.plan",
        "workbench.preflight",
        "workbench.redaction",
        "workbench.limits",
    ): (
        "workbench.responses",
        "workbench.scoring",
        "workbench.groups",
        "workbench.tracking",
        "workbench.runner",
        "workbench.optimize",
        "workbench.cli",
        "workbench.console",
    ),
    ("workbench.responses",): (
        "workbench.scoring",
        "workbench.groups",
        "workbench.tracking",
        "workbench.runner",
        "workbench.optimize",
    ),
    ("workbench.scoring",): (
        "workbench.responses",
        "workbench.groups",
        "workbench.tracking.client",
        "workbench.tracking.worker",
        "workbench.runner",
        "workbench.optimize",
        "workbench.cli",
        "workbench.console",
    ),
    ("workbench.tracking",): (
        "workbench.groups",
        "workbench.runner",
        "workbench.optimize",
        "workbench.cli",
        "workbench.console",
        "workbench.analysis",
        "workbench.promotion",
    ),
    # optimization drives the run machinery; only the command line sits above it
    ("workbench.optimize",): ("workbench.cli", "workbench.console"),
    # reading runs back and promoting on them come after a run, never inside it
    ("workbench.analysis",): ("workbench.runner", "workbench.cli", "workbench.console", "workbench.promotion"),
    ("workbench.promotion",): ("workbench.runner", "workbench.cli", "workbench.console"),
}


@pytest.mark.parametrize("earlier", list(LATER_STAGES))
def test_no_module_reaches_back_up_the_chain(earlier):
    later = LATER_STAGES[earlier]
    offending = [
        (module, target)
        for module, targets in GRAPH.items()
        if module.startswith(earlier)
        for target in targets
        if target.startswith(later) and target not in DECLARATIONS
    ]
    assert not offending, offending


def test_test_doubles_are_never_imported_by_the_package():
    importers = [
        module
        for module, path in MODULES.items()
        if not module.startswith("workbench.testing") and "workbench.testing" in path.read_text()
    ]
    assert not importers, importers


def test_only_tracking_traces_touches_mlflow_internals():
    private = (
        "mlflow.tracing.provider",
        "mlflow.tracing.trace_manager",
        "mlflow.tracing.processor",
        "mlflow.store.tracking.sqlalchemy_store",
    )
    users = sorted(module for module, path in MODULES.items() if any(name in path.read_text() for name in private))
    assert users == ["workbench.tracking.traces"]


def test_packages_declare_what_they_export():
    for package in (
        "workbench",
        "workbench.calls",
        "workbench.models",
        "workbench.optimize",
        "workbench.pipelines",
        "workbench.prompts",
        "workbench.scoring",
        "workbench.tracking",
        "workbench.analysis",
        "workbench.promotion",
    ):
        tree = ast.parse(MODULES[package].read_text())
        exported = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets)
        ]
        assert exported, f"{package} has no __all__"
