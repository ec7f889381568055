"""A run against an endpoint that is down: how long until it fails (target: under 5 s).

Runs `workbench run` (a fresh process, as a user would) on a 198-cell spec whose model's
`base_url` is a closed port, and on one whose `base_url` is not a URL, and prints the wall time
and the exit code of each (2: refused before any call).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from _project import scratch_project

SPEC = """name: dead-endpoint
system_prompts: [baseline-assistant@1, safety-first@1]
scenarios: {{files: [scenarios]}}
models:
  - {{spec: "openai:dead", base_url: "{url}"}}
"""


def main() -> None:
    with scratch_project() as root:
        for label, url in (("closed port", "http://127.0.0.1:9/v1"), ("not a URL", "not a url")):
            spec = root / "experiments" / f"dead-{label.replace(' ', '-')}.yaml"
            spec.write_text(SPEC.format(url=url))
            command = [str(Path(sys.executable).with_name("workbench")), "run", str(spec), "--quiet"]
            started = time.perf_counter()
            done = subprocess.run(command, cwd=root, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            cells = "198 cells" if "198 replies" in done.stdout else "refused at plan time"
            print(f"{label}: exit {done.returncode} after {seconds:.2f} s ({cells}; target: under 5 s)")


if __name__ == "__main__":
    main()
