"""The MLflow worker's command stream: order is kept, and calls waiting behind a write are
merged into one batch, never across another command."""

from __future__ import annotations

import io
import time

from workbench.tracking.protocol import CallRecord, Calls, Finish, GroupDone, write_frame
from workbench.tracking.worker import incoming


def record(index: int) -> CallRecord:
    return CallRecord(
        index=index,
        group="g",
        name=f"s#{index}",
        messages=[],
        reply="hi",
        error=None,
        attempts=[],
        input_tokens=None,
        output_tokens=None,
        model="m",
        tags={},
    )


def calls(*indices: int) -> Calls:
    return Calls([record(i) for i in indices], [{"cell_index": i} for i in indices])


def test_waiting_calls_are_merged_in_order_and_never_across_other_commands():
    stream = io.BytesIO()
    first = GroupDone("first", [])
    for message in [
        first,
        calls(1),
        calls(2, 3),
        GroupDone("g", []),
        calls(4),
        calls(5),
        Finish("FINISHED", {}, []),
        GroupDone("never", []),
    ]:
        write_frame(stream, message)
    write_frame(stream, None)
    stream.seek(0)
    commands = incoming(stream)
    assert next(commands) == first
    time.sleep(0.2)  # everything after the first command is now waiting, as it is behind a slow write
    assert list(commands) == [
        calls(1, 2, 3),
        GroupDone("g", []),
        calls(4, 5),
        Finish("FINISHED", {}, []),
        GroupDone("never", []),
    ]


def test_the_stream_ending_mid_frame_ends_the_commands():
    stream = io.BytesIO()
    write_frame(stream, calls(1))
    stream.write(b"\x00\x00\x01\x00partial")
    stream.seek(0)
    assert list(incoming(stream)) == [calls(1)]
