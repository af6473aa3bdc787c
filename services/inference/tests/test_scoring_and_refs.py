"""Pure functions: word alignment and scores, pose similarity, object references."""
from __future__ import annotations

import pytest

from megacity.errors import AppError
from services.inference import scoring
from services.inference.objects import ObjectStore, parse_ref
from services.inference.tests.conftest import settings


def test_alignment_and_word_error_rate():
    ops = scoring.align(["the", "quick", "brown", "fox"], ["the", "quick", "round", "fox", "jumps"])
    assert [op for op, _, _ in ops] == ["match", "match", "sub", "match", "ins"]
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
    assert [w["status"] for w in partial["words"]] == ["correct", "correct", "correct", "missed", "correct"]


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
