"""Size limits on user input, in one place so the checks and the README agree.

Every limit is far above what a real spec, prompt or scenario needs and far below what would
exhaust memory or fill the MLflow store: a 50 MB message would otherwise be sent to the model,
cached, and copied into every table and trace of the run.
"""

from __future__ import annotations

KB = 1024
MB = 1024 * KB

SPEC_FILE_BYTES = 1 * MB
PROMPT_FILE_BYTES = 1 * MB
SCENARIO_FILE_BYTES = 5 * MB
YAML_FILE_BYTES = 50 * MB
"""Any other YAML file the workbench reads (the gold set, for one)."""
SCORE_FILE_BYTES = 500 * MB
"""A CSV or JSONL file given to `workbench score`."""

YAML_VALUES = 200_000
"""Values a YAML file may expand to through its aliases (`*name`): guards against alias bombs."""

DESCRIPTION_CHARS = 2_000
SUMMARY_CHARS = 500
RATIONALE_CHARS = 4_000
MESSAGE_CHARS = 8_000
"""A scenario's message or one turn of its history: about 2,000 tokens."""
HISTORY_TURNS = 40
TEMPLATE_CHARS = 32_000
NAME_CHARS = 120

MAX_CONCURRENCY = 256
MAX_DELAY_S = 3_600.0
MAX_TIMEOUT_S = 3_600.0


def size_text(size: int) -> str:
    """Bytes as people read them: 1.0 MB, 512 KB."""
    if size >= MB:
        return f"{size / MB:.1f} MB"
    if size >= KB:
        return f"{size / KB:.0f} KB"
    return f"{size} bytes"
