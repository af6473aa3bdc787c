"""Object keys, as seed 001 §2.8 lays them out (`content_id` is the media object's id):

    kzone/audio/{content_id}/original.{ext}      uploaded audio (voice analysis input, K-content)
    kzone/video/{content_id}/original.{ext}      uploaded video (dance input/reference, K-content)
    kzone/image/{content_id}/original.{ext}      uploaded image (pose on a photo, thumbnails)
    kzone/pose/{content_id}/keypoints.json       pose landmarks of that media (written by inference or kzone)
"""
from __future__ import annotations

import uuid


def original(kind: str, content_id: uuid.UUID, ext: str) -> str:
    if kind not in ("audio", "video", "image"):
        raise ValueError(f"unknown media kind {kind!r}")
    return f"kzone/{kind}/{content_id}/original.{ext}"


def pose_keypoints(content_id: uuid.UUID) -> str:
    return f"kzone/pose/{content_id}/keypoints.json"
