"""Pure functions: magic-byte detection. (Voice scoring and word alignment are the inference
service's: services/inference/tests/test_scoring_and_refs.py.)"""
from __future__ import annotations

from services.kzone import media_types
from services.kzone.tests.media_samples import mp4_like, png, wav


def test_magic_bytes_decide_the_type() -> None:
    assert media_types.detect(wav()) == media_types.WAV
    assert media_types.detect(png()) == media_types.PNG
    assert media_types.detect(mp4_like()) == media_types.MP4
    assert media_types.detect(b"ID3\x04\x00" + b"\x00" * 100) == media_types.MP3
    assert media_types.detect(b"\xff\xfb\x90\x64" + b"\x00" * 100) == media_types.MP3
    assert media_types.detect(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm", want=frozenset({"audio"})) == \
        media_types.WEBM_AUDIO
    assert media_types.detect(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm") == media_types.WEBM
    assert media_types.detect(b"\x00\x00\x00\x20ftypM4A \x00\x00") == media_types.M4A
    for junk in (b"", b"%PDF-1.7\n", b"#!/bin/sh\n", b"PK\x03\x04zipzip", b"MZ\x90\x00", b"<html></html>",
                 b"\x00\x00\x00\x18ftypheic"):
        assert media_types.detect(junk) is None, junk
