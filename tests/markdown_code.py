"""Run the ```python blocks of a Markdown file, so documented code stays true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path: Path) -> list[str]:
    """The ```python blocks of a Markdown file, in order."""
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


def run_python_blocks(path: Path) -> dict:
    """Execute every block in order in one namespace (as a notebook would); return it."""
    namespace: dict = {"__name__": f"__{path.stem}__"}
    for i, block in enumerate(python_blocks(path)):
        name = f"{path.relative_to(ROOT)}:python-block-{i}"
        exec(compile(block, name, "exec"), namespace)  # noqa: S102
    return namespace
