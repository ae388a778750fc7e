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
        "media",
        "link_expires_at",
        "eta",
        "stalled",
    }
)

# api.md's example answer of GET /v1/result/{id} for a task still processing.
EXAMPLE_TASK_ID = "video_starvideos_o3_1234567890"
PROCESSING_ANSWER = {
    "id": EXAMPLE_TASK_ID,
    "object": "video",
    "created": 1774836724,
    "model": "starvideos_o3",
    "status": "processing",
    "video_url": None,
    "error": None,
}
