"""Pure functions: word alignment and scores, pose similarity, object references."""
from __future__ import annotations

import pytest

from megacity.errors import AppError
from services.inference import scoring
from services.inference.objects import ObjectStore, parse_ref
from services.inference.tests.conftest import settings


def test_alignment_and_word_error_rate():
    ops = scoring.align(["the", "quick", "brown", "fox"], ["the", "quick", "round", "fox", "jumps"])
    assert [op for op, _, _ in ops] == ["correct", "correct", "substituted", "correct", "inserted"]
    assert scoring.word_error_rate("The quick brown fox.", "the quick round fox jumps") == pytest.approx(0.5)
    assert scoring.word_error_rate("Don't stop!", "don't stop") == 0.0


def test_pronunciation_rewards_the_right_reference():
    heard = [{"word": w, "probability": 0.9} for w in "please open your books".split()]
    right = scoring.pronunciation("Please open your books.", heard)
    wrong = scoring.pronunciation("Close the window now.", heard)
    partial = scoring.pronunciation("Please open your big books.", heard)
    assert right["score"] == pytest.approx(90.0) and right["accuracy"] == 1.0 and right["wer"] == 0.0
    assert wrong["score"] < 20
    assert right["score"] > partial["score"] > wrong["score"]
    assert [a["op"] for a in partial["alignment"]] == ["correct", "correct", "correct", "missed", "correct"]


# Moved from kzone (services/kzone/tests/test_scoring.py) when the score and the word alignment
# became the voice job's: the recogniser's words as the voice job gets them, with timings.
def _recognised(text: str, prob: float = 0.95) -> list[dict]:
    return [{"word": f" {w}", "start": i * 0.5, "end": i * 0.5 + 0.4, "probability": prob}
            for i, w in enumerate(text.split())]


def test_voice_score_and_alignment():
    said = _recognised("The quick brown fox jumps over the lazy dog.")
    right = scoring.pronunciation("The quick brown fox jumps over the lazy dog", said)
    assert right["score"] == 95.0 and right["wer"] == 0.0 and right["accuracy"] == 1.0
    wrong = scoring.pronunciation("She sells sea shells by the sea shore", said)
    assert wrong["score"] < 20 < right["score"]

    slurred = scoring.pronunciation("The quick brown fox jumps over the lazy dog",
                                    _recognised("the quick brown box jumps over lazy dog dog"))
    ops = [(a["op"], a["reference"], a["heard"]) for a in slurred["alignment"]]
    assert ("substituted", "fox", "box") in ops and ("missed", "the", None) in ops and ("inserted", None, "dog") in ops
    assert slurred["counts"] == {"correct": 7, "substituted": 1, "missed": 1, "inserted": 1}
    assert 60 < slurred["score"] < right["score"]
    # fox→box (similar spelling) earns half credit, an unrelated substitute none.
    assert [a["score"] for a in slurred["alignment"] if a["op"] == "substituted"] == [31.7]
    unrelated = scoring.pronunciation("fox", _recognised("table"))
    assert unrelated["alignment"][0]["op"] == "substituted" and unrelated["score"] == 0.0

    # Hangul is kept as words; punctuation and case don't matter; no words at all scores 0.
    assert scoring.normalise("안녕하세요, 여러분!") == ["안녕하세요", "여러분"]
    assert scoring.pronunciation("안녕하세요 여러분", [], text="안녕하세요 여러분")["score"] == 100.0
    assert scoring.pronunciation("hello", [], text="")["score"] == 0.0


def test_alignment_carries_timings_and_the_score_averages_word_credit():
    heard = _recognised("The quick brown box jumps over the lazy dog")
    doc = scoring.pronunciation("The quick brown fox jumps over the lazy dog", heard)
    # 8 x 95 + 31.7 (fox→box), over 9 words (what kzone stores and shows).
    assert doc["score"] == 88.0 and doc["reference_words"] == doc["heard_words"] == 9
    assert doc["alignment"][1] == {"op": "correct", "reference": "quick", "heard": "quick", "start": 0.5,
                                   "end": 0.9, "confidence": 0.95, "score": 95.0}
    assert scoring.words_to_practise(doc) == ["fox"]
    # A word the recogniser returns with punctuation or several tokens keeps its timing.
    split = scoring.heard_words([{"word": " well-known,", "start": 1.0, "end": 1.5, "probability": 1.7}])
    assert [(h.word, h.start, h.end, h.confidence) for h in split] == [("well", 1.0, 1.5, 1.0),
                                                                        ("known", 1.0, 1.5, 1.0)]
    assert "alignment_truncated" not in doc


def test_a_long_reading_keeps_the_alignment_bounded(monkeypatch):
    monkeypatch.setattr(scoring, "MAX_ALIGNMENT", 4)
    doc = scoring.pronunciation("la " * 10, _recognised("la " * 9 + "lo"))
    assert len(doc["alignment"]) == 4 and doc["alignment_truncated"] is True
    # The counts and the score still cover every word.
    assert doc["counts"] == {"correct": 9, "substituted": 1, "missed": 0, "inserted": 0}
    assert doc["reference_words"] == 10 and doc["score"] == pytest.approx((9 * 95 + 50 * 0.5 * 0.95) / 10, abs=0.05)


def _pose(dx: float = 0.0, scale: float = 1.0, arm: float = 0.0) -> list[tuple[float, float]]:
    points = [(0.5 + (i % 5 - 2) * 0.03, 0.2 + i * 0.02) for i in range(33)]
    points[11], points[12], points[23], points[24] = (0.45, 0.3), (0.55, 0.3), (0.47, 0.6), (0.53, 0.6)
    points[15] = (points[15][0] + arm, points[15][1] - arm)  # raise a wrist
    return [(x * scale + dx, y * scale) for x, y in points]


def test_pose_similarity_ignores_position_and_scale_but_not_shape():
    base = [_pose()]
    assert scoring.pose_similarity([_pose(dx=0.2, scale=0.7)], base)["score"] == pytest.approx(100.0, abs=0.5)
    assert scoring.pose_similarity([_pose(arm=0.5)], base)["score"] < 97
    assert scoring.pose_similarity([[]], base) is None


def test_object_refs_stay_inside_the_store(tmp_path):
    store = ObjectStore(settings("tref", object_root=str(tmp_path)))
    assert parse_ref("fs://kzone/audio/1/original.wav").key == "kzone/audio/1/original.wav"
    assert parse_ref("s3://kzone-media/kzone/video/2/original.mp4").bucket == "kzone-media"
    assert parse_ref("inline:hello").text == "hello"
    for bad in ("fs://../etc/passwd", "fs:///etc/passwd", "fs://a/../../b", "http://x/y", "s3://B/k", ""):
        with pytest.raises(AppError) as err:
            parse_ref(bad)
        assert err.value.status == 400 and err.value.code == "inference.bad_input_ref"
    ref = store.put_json(parse_ref("fs://in/x.jpg"), "kzone/pose/j1/keypoints.json", {"ok": True})
    assert ref == "fs://kzone/pose/j1/keypoints.json"
    assert (tmp_path / "kzone/pose/j1/keypoints.json").read_text() == '{"ok":true}'
    assert not list((tmp_path / "kzone/pose/j1").glob(".*part"))
    with pytest.raises(AppError) as missing:
        with store.local_file(parse_ref("fs://kzone/none.wav")):
            pass
    assert missing.value.status == 404
