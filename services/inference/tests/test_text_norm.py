"""Normalisation before WER and pronunciation scoring: case, punctuation, numbers, compounds; and
completeness/accuracy defined from the same alignment."""
from __future__ import annotations

import pytest

from services.inference import scoring
from services.inference.text_norm import cardinal, join_compounds, normalise, ordinal, spell_numbers


def test_numbers_are_spelled_out():
    assert cardinal(0) == ["zero"] and cardinal(105) == ["one", "hundred", "five"]
    assert " ".join(cardinal(1_250_021)) == "one million two hundred fifty thousand twenty one"
    assert ordinal(21) == ["twenty", "first"] and ordinal(12) == ["twelfth"] and ordinal(40) == ["fortieth"]
    assert normalise("I have 21 cats.") == normalise("I have twenty-one cats")
    assert normalise("the 3rd of May") == ["the", "third", "of", "may"]
    assert normalise("In 1990, 45% of 1,000 people paid $3.50") == [
        "in", "nineteen", "ninety", "forty", "five", "percent", "of", "one", "thousand", "people", "paid",
        "three", "point", "five", "zero"]
    assert normalise("born in 2024 or 1905") == ["born", "in", "twenty", "twenty", "four", "or", "nineteen",
                                                  "oh", "five"]
    assert spell_numbers("call 0123") .split() == ["call", "zero", "one", "two", "three"]
    # Letters of every script are kept, punctuation and case are not.
    assert normalise("Don\u2019t STOP, 여러분!") == ["don't", "stop", "여러분"]


def test_compounds_written_either_way_are_one_word():
    ref, hyp, groups = join_compounds(["the", "riverbank", "is", "wet"], ["the", "river", "bank", "is", "wet"])
    assert ref == hyp == ["the", "riverbank", "is", "wet"] and groups == [[0], [1, 2], [3], [4]]
    ref, hyp, _ = join_compounds(["a", "river", "bank"], ["a", "riverbank"])
    assert ref == hyp == ["a", "riverbank"]
    ref, hyp, _ = join_compounds(["red", "car"], ["red", "bus"])  # nothing to join
    assert (ref, hyp) == (["red", "car"], ["red", "bus"])


def test_wer_after_normalisation_ignores_writing_conventions():
    ref = "We walked along the riverbank on May 3rd with 21 friends."
    heard = "we walked along the river bank on may third with twenty-one friends"
    assert scoring.word_error_rate(ref, heard) == 0.0
    assert scoring.word_error_rate(ref, heard, normalised=False) > 0.5  # the naive figure
    assert scoring.word_error_rate(ref, "we walked along the river on may third") == pytest.approx(5 / 12)  # river≠riverbank, 4 missed


def test_pronunciation_merges_split_compounds_and_their_timings():
    heard = [{"word": w, "start": i * 0.5, "end": i * 0.5 + 0.4, "probability": 0.9}
             for i, w in enumerate(["The", "river", "bank", "flooded", "in", "1990."])]
    doc = scoring.pronunciation("The riverbank flooded in nineteen ninety.", heard)
    assert doc["wer"] == 0.0 and doc["accuracy"] == 1.0 and doc["completeness"] == 1.0
    river = doc["alignment"][1]
    assert river["reference"] == river["heard"] == "riverbank" and (river["start"], river["end"]) == (0.5, 1.4)
    # "1990." became two timed words, both with the recogniser's timing of the number.
    assert [(a["heard"], a["start"]) for a in doc["alignment"][-2:]] == [("nineteen", 2.5), ("ninety", 2.5)]


def test_completeness_and_accuracy_come_from_one_alignment():
    said = [{"word": w, "probability": 1.0} for w in "the quick brown box over table dog".split()]
    doc = scoring.pronunciation("the quick brown fox jumps over the lazy dog", said)
    counts = doc["counts"]
    # fox→box is a near miss (attempted); the/lazy → "table" is unrelated: not said.
    similar = [a for a in doc["alignment"] if a["op"] == "substituted" and a["score"] > 0]
    assert doc["accuracy"] == round(counts["correct"] / 9, 3)
    assert doc["completeness"] == round((counts["correct"] + len(similar)) / 9, 3)
    assert doc["accuracy"] <= doc["completeness"] < 1.0
    assert doc["wer"] == round((counts["substituted"] + counts["missed"] + counts["inserted"]) / 9, 3)
    # Only misses and unrelated words: accuracy and completeness agree.
    only_missed = scoring.pronunciation("one two three four", [{"word": "one"}, {"word": "four"}])
    assert only_missed["accuracy"] == only_missed["completeness"] == 0.5
