"""The README's Python snippets run as written (in order, in one namespace)."""

from __future__ import annotations

import pytest

from markdown_code import ROOT, python_blocks, run_python_blocks

README = ROOT / "README.md"


def test_readme_has_python_quickstart():
    assert python_blocks(README), "README.md lost its ```python quickstart"


@pytest.mark.dino
@pytest.mark.atari
def test_readme_python_snippets_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything the snippets write lands in a temporary folder
    run_python_blocks(README)
