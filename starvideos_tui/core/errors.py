"""The one base of every error the project raises on purpose, and the two kinds a face
maps them to: the user's mistake (exit 2) and the world's failure (exit 1).

Each module subclasses these for its own errors (ApiError, WatchlistError, DownloadError,
...); the CLI turns any of them into one line and `exit_code`, the TUI into a toast. An
exception that is not a StarVideosError is a bug, and is shown as one.
"""

from __future__ import annotations


class StarVideosError(Exception):
    """An expected failure, told to the user in one line (`str(exc)`)."""

    exit_code = 1


class UsageError(StarVideosError):
    """The user's mistake: a malformed id, a bad flag or setting. Nothing was written."""

    exit_code = 2


class Failure(StarVideosError):
    """The world's failure: network, API, disk."""


class TimedOut(StarVideosError):
    """A `--timeout` ran out before what was waited for happened."""

    exit_code = 3
