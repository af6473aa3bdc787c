"""Text normalisation for comparing what was said with what should have been said (WER and
pronunciation scoring). A recogniser writes "21", "3rd", "Riverbank," or "river-bank" where
the reference says "twenty-one", "third", "river bank": none of these is a reading error.

- `normalise(text)`: NFKC, lower case, curly apostrophes straightened, numbers spelled out
  (`spell_numbers`), punctuation dropped (hyphens split words), every script's letters kept,
  "don't" one word.
- `spell_numbers(text)`: English cardinals ("1,250" → "one thousand two hundred fifty"), years
  1100–1999 and 2010–2099 read as years ("1990" → "nineteen ninety"), ordinals ("21st" →
  "twenty first"), decimals ("3.5" → "three point five") and "%" → "percent". No "and" inside
  numbers, so "a hundred and five" and "105" differ by one word ("and"); bounded to < 10^12
  (longer digit runs are read digit by digit).
- `join_compounds(ref, hyp)`: two adjacent words on one side that spell one word of the other
  side ("river bank" / "riverbank") are joined, on whichever side is split; returns the groups
  so callers can merge timings.

Written here rather than taking a dependency (num2words is not in the platform's requirements):
English only, which is what the recogniser's output and the learners' reference texts use.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th)?(%)?(?!\w)", re.IGNORECASE)


def _below_thousand(n: int) -> list[str]:
    out: list[str] = []
    if n >= 100:
        out += [_ONES[n // 100], "hundred"]
        n %= 100
        if not n:
            return out
    if n < 20:
        return out + [_ONES[n]]
    return out + [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])


def cardinal(n: int) -> list[str]:
    """English words of 0 <= n < 10^12 ("one thousand two hundred fifty")."""
    if n < 1000:
        return _below_thousand(n)
    out: list[str] = []
    for value, name in _SCALES:
        if n >= value:
            out += cardinal(n // value) + [name]
            n %= value
    return out + (_below_thousand(n) if n else [])


def _year(n: int) -> list[str]:
    high, low = divmod(n, 100)
    if low == 0:
        return _below_thousand(high) + ["hundred"]
    return _below_thousand(high) + (["oh"] if low < 10 else []) + _below_thousand(low)


def ordinal(n: int) -> list[str]:
    words = cardinal(n)
    last = words[-1]
    if last in _ORDINAL_WORDS:
        words[-1] = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return words


def _spell(match: re.Match[str]) -> str:
    digits, decimals, suffix, percent = match.groups()
    plain = digits.replace(",", "")
    if len(plain) > 12 or (plain.startswith("0") and len(plain) > 1):
        words = [_ONES[int(d)] for d in plain]  # a code or a phone number: digit by digit
    else:
        n = int(plain)
        if suffix and not decimals:
            words = ordinal(n)
        elif "," not in digits and not decimals and (1100 <= n <= 1999 or 2010 <= n <= 2099):
            words = _year(n)
        else:
            words = cardinal(n)
    if decimals:
        words += ["point"] + [_ONES[int(d)] for d in decimals]
    if percent:
        words.append("percent")
    return " " + " ".join(words) + " "


def spell_numbers(text: str) -> str:
    return _NUMBER.sub(_spell, text)


def normalise(text: str) -> list[str]:
    """Lower-case words, numbers spelled out, without punctuation (see module doc)."""
    text = unicodedata.normalize("NFKC", text or "").lower().replace("\u2019", "'")
    return _WORD.findall(spell_numbers(text))


def join_compounds(ref: Sequence[str], hyp: Sequence[str]) -> tuple[list[str], list[str], list[list[int]]]:
    """(ref, hyp, hyp groups): adjacent word pairs on either side that spell a single word of
    the other side are joined ("river", "bank" → "riverbank"). `hyp groups[k]` lists the indices
    of the original hyp words that make hyp word k (to merge their timings)."""
    ref_vocab, hyp_vocab = set(ref), set(hyp)

    def joined(words: Sequence[str], other: set[str]) -> tuple[list[str], list[list[int]]]:
        out: list[str] = []
        groups: list[list[int]] = []
        i = 0
        while i < len(words):
            if i + 1 < len(words) and words[i] + words[i + 1] in other:
                out.append(words[i] + words[i + 1])
                groups.append([i, i + 1])
                i += 2
            else:
                out.append(words[i])
                groups.append([i])
                i += 1
        return out, groups

    new_ref, _ = joined(ref, hyp_vocab)
    new_hyp, groups = joined(hyp, ref_vocab)
    return new_ref, new_hyp, groups
