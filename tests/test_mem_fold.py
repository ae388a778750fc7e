"""Issue 25 item 4: a fold writes the base a few hundred documents at a time (never every
document, nor the whole file, in memory at once), and the bytes are the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from starvideos_tui.storage.basefile import META, TASKS, atomic_write, base_chunks, encode_base

META_DOC = {"1": {"schema": 2, "journal": 7}}


@pytest.mark.parametrize("count", [0, 1, 255, 256, 257, 512, 600])
def test_the_chunks_are_the_bytes_encode_base_gives(count: int) -> None:
    docs = {str(i + 1): {"id": f"video_{i}", "prompt": "狐 é \ud83d"} for i in range(count)}
    chunks = list(base_chunks(META_DOC, docs.items()))
    assert b"".join(chunks) == encode_base({TASKS: docs, META: META_DOC})
    assert len(chunks) == count // 256 + 1


def test_the_documents_are_made_as_they_are_written(tmp_path: Path) -> None:
    made: list[int] = []

    def docs() -> Iterator[tuple[str, dict[str, str]]]:
        for i in range(1000):
            made.append(i)
            yield str(i + 1), {"id": f"video_{i}"}

    seen: list[int] = []

    def chunks() -> Iterator[bytes]:
        for chunk in base_chunks(META_DOC, docs()):
            seen.append(len(made))
            yield chunk

    path = tmp_path / "watchlist.json"
    atomic_write(path, chunks())
    assert seen[0] == 256 and seen[-1] == 1000  # not all made before the first write
    whole = {str(i + 1): {"id": f"video_{i}"} for i in range(1000)}
    assert path.read_bytes() == encode_base({TASKS: whole, META: META_DOC})
