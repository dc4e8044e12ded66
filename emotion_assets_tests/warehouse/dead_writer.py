"""A temp file name as a writer that has exited (SIGKILLed mid-write) would have left it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def as_dead_writers(temp: Path) -> Path:
    """`temp` (a temp name of this process, atomic.temp_name_for) with an exited process's pid."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return temp.with_name(temp.name.replace(f".{os.getpid()}.", f".{int(dead.stdout)}.", 1))
