"""What CONTRACT.md promises scripts, shared by the tests that check it."""

# `list --json` items carry at least these keys.
LIST_JSON_KEYS = frozenset(
    {
        "id",
        "status",
        "created",
        "video_url",
        "actual_duration",
        "error",
        "local_path",
        "updated_at",
        "prompt",
    }
)
