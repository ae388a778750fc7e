"""Pictures of saved videos: frames taken across the video (real H.264 from the simulator),
kept by sha256, drawn as half-blocks; a file that does not decode says so."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from starvideos_tui.simulator.video import sample_video
from starvideos_tui.video.preview import SPOTS, PreviewError, cached_frames, picture


def saved_video(folder: Path, seconds: int = 3) -> tuple[Path, str]:
    data = sample_video(seconds).data
    path = folder / "v.mp4"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_frames_are_taken_across_the_video_once_and_kept_by_sha256(tmp_path: Path) -> None:
    video, sha = saved_video(tmp_path)
    cache = tmp_path / "cache"
    frames = cached_frames(video, sha, cache)
    assert [p.name for p in frames] == [f"{sha}-{i}-480.png" for i in range(len(SPOTS))]
    sizes = {Image.open(p).size for p in frames}
    assert sizes == {(320, 180)}  # under the stored width (480): kept as it is
    # The scene changes over time: the frames across the video are not one picture.
    assert len({p.read_bytes() for p in frames}) > 1
    video.unlink()  # from now on, only the cache can answer
    assert cached_frames(video, sha, cache) == frames
    assert sorted(p.name for p in cache.iterdir()) == sorted(p.name for p in frames)


@pytest.mark.parametrize(
    "body",
    [b"<html>not a video</html>", b"", bytes(range(256)) * 64],
    ids=["html", "empty", "noise"],
)
def test_a_file_that_does_not_decode_says_so_and_leaves_nothing_cached(
    tmp_path: Path, body: bytes
) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(body)
    cache = tmp_path / "cache"
    with pytest.raises(PreviewError, match=r"does not decode|no frame"):
        cached_frames(video, hashlib.sha256(body).hexdigest(), cache)
    assert not cache.exists() or not any(cache.iterdir())


def test_a_picture_is_half_blocks_of_the_frame_in_its_shape(tmp_path: Path) -> None:
    frame = tmp_path / "f.png"
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 10, 40, 20))  # red above, blue below
    image.save(frame)
    shown = picture(frame, columns=20, max_rows=12)
    assert (shown.width, len(shown.rows)) == (20, 5)  # 20 wide, 10 pixels high: 5 rows
    assert shown.rows[0][0] == ((255, 0, 0), (255, 0, 0))
    assert shown.rows[-1][0] == ((0, 0, 255), (0, 0, 255))
    squeezed = picture(frame, columns=80, max_rows=3)  # too tall for the room: narrower
    assert (squeezed.width, len(squeezed.rows)) == (12, 3)
