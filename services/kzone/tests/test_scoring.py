"""Pure functions: magic-byte detection, voice scoring and word alignment."""
from __future__ import annotations

from services.kzone import media_types, voice_scoring
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


def _recognised(text: str, prob: float = 0.95) -> dict:
    return {"text": text, "words": [{"word": f" {w}", "start": i * 0.5, "end": i * 0.5 + 0.4, "probability": prob}
                                    for i, w in enumerate(text.split())]}


def test_voice_score_and_alignment() -> None:
    said = _recognised("The quick brown fox jumps over the lazy dog.")
    right = voice_scoring.score("The quick brown fox jumps over the lazy dog", said)
    assert right["pronunciation_score"] == 95.0 and right["wer"] == 0.0 and right["accuracy"] == 1.0
    wrong = voice_scoring.score("She sells sea shells by the sea shore", said)
    assert wrong["pronunciation_score"] < 20 < right["pronunciation_score"]

    slurred = voice_scoring.score("The quick brown fox jumps over the lazy dog",
                                  _recognised("the quick brown box jumps over lazy dog dog"))
    ops = [(a["op"], a["reference"], a["heard"]) for a in slurred["alignment"]]
    assert ("substituted", "fox", "box") in ops and ("missed", "the", None) in ops and ("inserted", None, "dog") in ops
    assert slurred["counts"] == {"correct": 7, "substituted": 1, "missed": 1, "inserted": 1}
    assert 60 < slurred["pronunciation_score"] < right["pronunciation_score"]
    # fox→box (similar spelling) earns half credit, an unrelated substitute none.
    assert [a["score"] for a in slurred["alignment"] if a["op"] == "substituted"] == [31.7]
    unrelated = voice_scoring.score("fox", _recognised("table"))
    assert unrelated["alignment"][0]["op"] == "substituted" and unrelated["pronunciation_score"] == 0.0

    # Hangul is kept as words; punctuation and case don't matter; no words at all scores 0.
    assert voice_scoring.normalize_words("안녕하세요, 여러분!") == ["안녕하세요", "여러분"]
    assert voice_scoring.score("안녕하세요 여러분", {"text": "안녕하세요 여러분"})["pronunciation_score"] == 100.0
    assert voice_scoring.score("hello", {"text": ""})["pronunciation_score"] == 0.0
