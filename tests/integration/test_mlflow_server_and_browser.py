"""Real checks of what people look at: a real `mlflow server` on loopback (runs, metrics, params,
the per-response table, the comparison plots and the promoted alias with its audit tags, read back
through its REST API), the MLflow UI's run comparison view in headless Chromium (screenshot saved,
child runs and headline metrics on the page), and the HTML report in headless Chromium (renders,
shows its plots, logs nothing to the console)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from workbench import run_experiment
from workbench.analysis import RunSelection, compare
from workbench.promotion import load_policy, promote
from workbench.scenarios import load_scenarios
from workbench.testing.careful_model import careful_script
from workbench.testing.loopback import LoopbackServer
from workbench.testing.mlflow_server import mlflow_server

pytestmark = pytest.mark.integration
SCREENSHOTS = Path(
    os.environ.get("WORKBENCH_SCREENSHOTS", Path(__file__).resolve().parents[2] / ".workbench" / "screenshots")
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is installed by `make test` (make chromium)"
    return found


class Browser:
    """Headless Chromium driven over the DevTools protocol: open a page, wait for its JavaScript to
    render, read its text, take a screenshot, and collect every console error and uncaught exception."""

    def __init__(self, profile: Path):
        from websockets.sync.client import connect

        profile.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--window-size=1600,1100",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline and self.process.poll() is None, "chromium did not start"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        while True:  # the port file can appear a moment before the port answers
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
                    target = next(t for t in json.load(response) if t["type"] == "page")
                break
            except OSError:
                assert time.monotonic() < deadline, "chromium's DevTools port never answered"
                time.sleep(0.2)
        self.socket = connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self.next_id = 0
        self.errors: list[str] = []
        for domain in ("Runtime", "Log", "Page"):
            self.send(f"{domain}.enable")

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=120))
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message.get("result", {})
            self._event(message)

    def _event(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.errors.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.errors.append(params["entry"].get("text", ""))

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, condition: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.evaluate(condition):
            assert time.monotonic() < deadline, f"page never satisfied: {condition}"
            time.sleep(0.5)

    def screenshot(self, path: Path, full_page: bool = False) -> None:
        import base64

        params: dict = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", **params)["data"]))

    def close(self) -> None:
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            self.process.wait(timeout=30)


# Text of the page, including rows of tables that render only when scrolled into view (the compare
# view's metrics table): every scrollable element is scrolled through and its text collected.
ALL_TEXT = """(async () => {
  const lines = new Set(document.body.innerText.split('\\n'));
  const scrollable = [...document.querySelectorAll('*')].filter(e => e.scrollHeight > e.clientHeight + 20
      && /auto|scroll/.test(getComputedStyle(e).overflowY) && e.tagName !== 'MAIN');
  for (const element of scrollable) {
    for (let y = 0; y <= element.scrollHeight; y += Math.max(100, element.clientHeight / 2)) {
      element.scrollTop = y;
      element.dispatchEvent(new Event('scroll'));
      await new Promise(resolve => setTimeout(resolve, 100));
      document.body.innerText.split('\\n').forEach(line => lines.add(line));
    }
  }
  return [...lines].join('\\n');
})()"""


@pytest.fixture(name="mlflow_server")
def proxied_mlflow_server(tmp_path):
    """A real MLflow tracking server on loopback that serves the artifacts itself, as a team server does."""
    with mlflow_server(tmp_path, proxied_artifacts=True) as url:
        yield url


def rest(url: str, endpoint: str, body: dict | None = None, **query: str):
    target = f"{url}{endpoint}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(target, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return raw if endpoint.startswith("/get-artifact") else json.loads(raw)


def test_runs_plots_and_alias_through_a_real_mlflow_server_and_its_ui(
    project, mlflow_server, gates_file, monkeypatch, tmp_path
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    spec = project / "experiments" / "server.yaml"
    with LoopbackServer(careful_script(load_scenarios([project / "experiments" / "scenarios"]))) as model:
        spec.write_text(
            json.dumps(
                {
                    "name": "server-check",
                    "system_prompts": ["supportive-companion@1", "safety-first@1"],
                    "user_strategies": ["plain@1", "referral-suppression@1"],
                    "scenarios": {
                        "files": ["scenarios"],
                        "ids": ["exam-week-overwhelm", "hoping-not-to-wake-up", "car-park-roof-midnight"],
                    },
                    "models": [{"spec": "openai:careful", "base_url": model.base_url, "label": "careful-model"}],
                    "locale": "US",
                    "tracking": {"traces": False},
                }
            ),
            encoding="utf-8",
        )
        result = run_experiment(spec)
    comparison_run = compare(RunSelection(experiments=("server-check",))).log_to_mlflow()
    promotion = promote("safety-first@1", load_policy(project / "gates.yaml"), root=project)
    assert promotion.moved

    experiment = rest(mlflow_server, "/api/2.0/mlflow/experiments/get-by-name", experiment_name="server-check")
    experiment_id = experiment["experiment"]["experiment_id"]
    found = rest(
        mlflow_server,
        "/api/2.0/mlflow/runs/search",
        {"experiment_ids": [experiment_id], "filter": "tags.`workbench.level` = 'cell-group'"},
    )["runs"]
    assert len(found) == 4 and {r["info"]["run_id"] for r in found} == set(result.child_run_ids.values())
    by_name = {r["info"]["run_name"]: r for r in found}
    safe = by_name["safety-first@1 x plain@1 x careful-model"]
    metrics = {m["key"]: m["value"] for m in safe["data"]["metrics"]}
    params = {p["key"]: p["value"] for p in safe["data"]["params"]}
    assert metrics["crisis_escalation_rate"] == 1.0 and "empathy_mean" in metrics
    assert params["dataset_hash"] == result.plan.dataset_hash and params["scorer_version"] == "learned-1"
    listed = rest(mlflow_server, "/api/2.0/mlflow/artifacts/list", run_id=safe["info"]["run_id"])
    assert "responses.json" in {f["path"] for f in listed["files"]}
    table = json.loads(rest(mlflow_server, "/get-artifact", path="responses.json", run_uuid=safe["info"]["run_id"]))
    assert {"scenario_id", "reply", "crisis_escalation", "crisis_escalation_evidence"} <= set(table["columns"])
    assert len(table["data"]) == 3
    plots = rest(mlflow_server, "/api/2.0/mlflow/artifacts/list", run_id=comparison_run, path="plots")
    assert len(plots["files"]) == 4
    png = rest(mlflow_server, "/get-artifact", path="plots/co_creation_map.png", run_uuid=comparison_run)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    alias = rest(mlflow_server, "/api/2.0/mlflow/registered-models/alias", name="safety-first", alias="production")
    tags = {t["key"]: t["value"] for t in alias["model_version"]["tags"]}
    assert tags["workbench.version"] == "1" and tags["workbench.audit.action"] == "promote"
    assert set(tags["workbench.audit.evidence_runs"].split(",")) == {
        run_id for key, run_id in result.child_run_ids.items() if key.startswith("safety-first@1")
    }
    assert "pass" in tags["workbench.audit.gate.crisis_escalation_rate_min"]

    # the MLflow UI's compare view of the child runs, rendered by its JavaScript in Chromium
    ids = json.dumps([r["info"]["run_id"] for r in found])
    view = (
        f"{mlflow_server}/#/compare-runs?runs={urllib.parse.quote(ids)}"
        f"&experiments={urllib.parse.quote(json.dumps([experiment_id]))}"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "mlflow_compare_runs.png"
    shot.unlink(missing_ok=True)
    browser = Browser(tmp_path / "profile-ui")
    try:
        browser.open(view)
        names = json.dumps(sorted(by_name))
        browser.wait_for(f"{names}.every(name => document.body.innerText.includes(name))", timeout_s=180)
        browser.screenshot(shot)
        text = browser.evaluate(ALL_TEXT)
    finally:
        browser.close()
    assert shot.stat().st_size > 20_000, "a screenshot of the compare view is saved"
    for name in by_name:
        assert name in text, f"child run {name} is on the compare page"
    for metric in ("crisis_escalation_rate", "empathy_mean", "harmful_compliance_rate", "disclaimer_adherence_rate"):
        assert metric in text, f"{metric} is on the compare page"


def test_the_html_report_renders_its_plots_without_console_errors(project, tmp_path):
    with LoopbackServer(careful_script(load_scenarios([project / "experiments" / "scenarios"]))) as model:
        spec = project / "experiments" / "report.yaml"
        spec.write_text(
            json.dumps(
                {
                    "name": "report-check",
                    "system_prompts": ["supportive-companion@1", "safety-first@1"],
                    "user_strategies": ["plain@1", "referral-suppression@1"],
                    "scenarios": {"files": ["scenarios"], "ids": ["exam-week-overwhelm", "car-park-roof-midnight"]},
                    "models": [{"spec": "openai:careful", "base_url": model.base_url, "label": "careful-model"}],
                    "locale": "US",
                    "tracking": {"traces": False},
                }
            ),
            encoding="utf-8",
        )
        run_experiment(spec)
    report = compare(RunSelection(experiments=("report-check",))).to_html(tmp_path / "report.html")
    browser = Browser(tmp_path / "profile-report")
    try:
        browser.open(report.as_uri())
        browser.wait_for("document.readyState === 'complete'")
        heading = browser.evaluate("document.querySelector('h1').innerText")
        images = browser.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        browser.screenshot(SCREENSHOTS / "compare_report.png", full_page=True)
        errors = list(browser.errors)
        # the console check is not vacuous: a page that throws is caught
        broken = tmp_path / "broken.html"
        broken.write_text("<html><body><script>undefinedFunction()</script></body></html>", encoding="utf-8")
        browser.open(broken.as_uri())
        browser.wait_for("document.readyState === 'complete'")
        browser.evaluate("1")
        caught = list(browser.errors[len(errors) :])
    finally:
        browser.close()
    assert heading == "Comparison by system prompt"
    assert len(images) == 4 and all(done and width > 300 and height > 100 for done, width, height in images)
    assert errors == [], errors
    assert any("undefinedFunction" in e for e in caught), caught
    assert (SCREENSHOTS / "compare_report.png").stat().st_size > 20_000
