"""Writing the sandbox's files: atomically, and private ones created 0600 from the start."""

from __future__ import annotations

import os
import pathlib


def write_file(path: pathlib.Path, data: bytes | str, private: bool = False) -> None:
    """Replace `path` in one step (readers never see half a file); `private` files (keys,
    credentials) are never readable by anyone else, not even while being written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data.encode() if isinstance(data, str) else data)
    tmp.replace(path)
