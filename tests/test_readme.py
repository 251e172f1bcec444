"""The README's Python snippets run as written (in order, in one namespace)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_has_python_quickstart():
    assert python_blocks(README.read_text()), "README.md lost its ```python quickstart"


@pytest.mark.dino
@pytest.mark.atari
def test_readme_python_snippets_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything the snippets write lands in a temporary folder
    namespace: dict = {"__name__": "__readme__"}
    for i, block in enumerate(python_blocks(README.read_text())):
        exec(compile(block, f"README.md:python-block-{i}", "exec"), namespace)  # noqa: S102
