"""The API key: from `STARVIDEOS_API_KEY`, else from the key file `login` writes with mode
0600. Never from a flag, never shown (ApiKey's repr hides it)."""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from starvideos_tui.core import localfile, paths
from starvideos_tui.core.errors import StarVideosError
from starvideos_tui.core.models import ApiKey
from starvideos_tui.engine.setting_values import SettingsError

KEY_LIMIT = 4_000  # bytes of the key file: a key is one short line


class KeyFileError(StarVideosError):
    """The key file exists but cannot be used (exit 1)."""


def load_api_key(env: Mapping[str, str]) -> ApiKey | None:
    """The key from the environment, else from the key file; None when there is none."""
    if key := env.get("STARVIDEOS_API_KEY", "").strip():
        if why := key_problem(key):
            raise SettingsError(f"the key in STARVIDEOS_API_KEY {why}")
        return ApiKey(key)
    try:
        path = paths.key_file()
    except paths.NoHome:
        return None  # no home, so no key file: the environment is the only way
    try:
        fd = localfile.open_regular(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"key file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                f"run: chmod 600 {path}"
            )
        try:
            raw = handle.read(KEY_LIMIT + 1)
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if len(raw) > KEY_LIMIT:
        raise KeyFileError(
            f"key file {path} is over {localfile.size_words(KEY_LIMIT)}: a key is one short line"
        )
    try:
        key = raw.removeprefix(codecs.BOM_UTF8).decode("utf-8").strip()
    except UnicodeDecodeError:
        raise KeyFileError(
            f"key file {path} is not UTF-8 text; write it again with starvideos-tui login"
        ) from None
    if why := key_problem(key):
        raise KeyFileError(f"the key in {path} {why}")
    return ApiKey(key) if key else None


def key_problem(key: str) -> str | None:
    """Why `key` (stripped) cannot go in an Authorization header, in words that never
    show it; None when it can."""
    if "\n" in key or "\r" in key:
        return "holds a line break (a key is one line)"
    if not key.isascii():
        return "holds a character that is not ASCII"
    if any(c.isspace() or not c.isprintable() for c in key):
        return "holds a space or a control character"
    return None


def store_api_key(key: str) -> Path:
    """Write the key file with mode 0600 from its first byte, atomically."""
    path = paths.key_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key.strip() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return path
