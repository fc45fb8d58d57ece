"""The serving process's collector: off while the app starts, on and frozen once it has.

Each case runs in its own interpreter: freezing the heap is once per process by design, and the
test process's own collector must stay as pytest left it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_collector_is_paused_until_the_startup_heap_is_frozen() -> None:
    out = _run(
        """
        import gc
        from aiclone.collector import freeze_startup_heap, pause_until_frozen

        pause_until_frozen()
        paused = gc.isenabled()
        cycle = []
        cycle.append(cycle)
        del cycle
        freeze_startup_heap()
        print(paused, gc.isenabled(), gc.get_freeze_count() > 0)
        """
    )
    assert out == "False True True"


def test_a_collector_turned_off_by_the_operator_stays_off() -> None:
    out = _run(
        """
        import gc
        from aiclone.collector import freeze_startup_heap, pause_until_frozen

        gc.disable()
        pause_until_frozen()
        freeze_startup_heap()
        print(gc.isenabled())
        """
    )
    assert out == "False"


def test_pausing_after_the_freeze_changes_nothing() -> None:
    out = _run(
        """
        import gc
        from aiclone.collector import freeze_startup_heap, pause_until_frozen

        freeze_startup_heap()
        pause_until_frozen()
        print(gc.isenabled())
        """
    )
    assert out == "True"
