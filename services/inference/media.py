"""Telling images from videos and decoding images (OpenCV, which the pose stack brings)."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


def looks_like_image(data: bytes, media_type: str = "") -> bool:
    if media_type.startswith("image/"):
        return True
    if media_type.startswith("video/"):
        return False
    return data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def decode_image(data: bytes) -> np.ndarray | None:
    """RGB uint8 array, or None when OpenCV cannot decode the bytes as an image."""
    import cv2

    if not data:
        return None
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_image(path: Path) -> np.ndarray | None:
    with open(path, "rb") as f:
        head = f.read(16)
    if not looks_like_image(head):
        return None
    return decode_image(path.read_bytes())


@contextlib.contextmanager
def temp_file(data: bytes, suffix: str = "") -> Iterator[str]:
    """OpenCV reads video from a path: bytes from an RPC go through a temporary file."""
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="inference-media-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
