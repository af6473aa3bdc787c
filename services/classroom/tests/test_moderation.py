"""The moderation pipeline without a server: evasions that must be caught, classroom messages
that must pass (the classic false positives among them), org words, and nickname rules."""
from __future__ import annotations

import random
import unicodedata

import pytest

from megacity.errors import AppError
from services.classroom.moderation.filter import Moderator, Word, validate_word
from services.classroom.participants.nicknames import (
    MAX_CHARS,
    all_friendly_names,
    char_count,
    clean_nickname,
    friendly_nickname,
)

MOD = Moderator.builtin()

EVASIONS = [
    # plain, case
    "fuck you", "FuCk", "what the SHIT", "you bitch", "씨발", "병신아", "개새끼야",
    # spacing and single characters
    "f u c k", "s h i t", "b i t c h e s", "시 발", "씨   발", "ㅅ ㅂ", "병 신",
    # repeated letters
    "fuuuuuck", "shiiiiit", "asssss", "씨이이이발", "씨바알", "병시이인",
    # leetspeak
    "sh1t", "5h1t", "f4ggot", "a$$hole", "b!tch", "@ss", "n1gger", "$lut",
    # punctuation inserted
    "f.u.c.k", "f-u-c-k", "sh*i*t", "b_i_t_c_h", "씨.발", "씨-발", "병~신", "sh!t!",
    # zero-width and invisible characters
    "fu\u200bck", "sh\u200di\u2060t", "씨\u200b발", "씨\ufeff발", "씨\u3164발", "fu\u00adck",
    # fullwidth, styled and look-alike letters
    "ｆｕｃｋ", "ＳＨＩＴ", "𝐟𝐮𝐜𝐤", "ⓕⓤⓒⓚ", "fúçk",
    "fu\u0441k", "sh\u0456t", "\u0430sshole",  # Cyrillic с, і, а
    # jamo splitting
    "ㅅㅣ발", "씨ㅂㅏㄹ", "ㅆㅣㅂㅏㄹ", "시ㅂㅏㄹ", "ㅂㅕㅇ신", "아ㅅㅂ", "ㅄ", "ㅆㅂ 진짜",
    # Korean with digits, Latin or symbols inserted
    "씨1발", "씨b발", "씨8발", "병1신", "개!새!끼", "씨ㅡ발",
    # inside longer words, particles and stems
    "motherfucker", "fucking", "bullshit", "assholes", "dickhead", "씨발놈아", "존나 어려워", "지랄하네",
    # whole-token imperatives, and the keyboard-layout trick
    "꺼져", "닥쳐!", "tlqkf",
]

CLEAN = [
    # the classic false positives
    "Scunthorpe is a town in England", "I live near Scunthorpe's station", "We had a class assessment today",
    "The assassin in the story was caught", "Our classes start at nine", "a cocktail of chemicals",
    "The pilot sat in the cockpit", "What is the title of the book?", "We read Charles Dickens",
    "shiitake mushrooms are tasty", "My therapist says hi", "Hancock was a president",
    "Use the compass to draw a circle", "Pass the glass please", "Sussex and Essex are counties",
    "as far as I know", "I assume the answer is 4", "The bass guitar is loud", "Press the button",
    # classroom English
    "Can you explain question 3 again please?", "The answer is 3/4 because 0.75 = 3/4", "I got 100 points!",
    "Hi everyone 👋", "Is it 5 or 7?", "Good job team", "wow that was fast!!!", "I think it's B",
    "x = 2 and y = 3", "See you tomorrow", "Thanks teacher :)",
    # Korean: 시발점 (starting point), 시발역 (first station), 씨 발라 (peel the seeds), 불이 꺼져 (the light goes out)
    "이 문제의 시발점은 어디인가요?", "서울역이 시발역이에요", "수박 씨 발라 먹어요", "불이 꺼져 있어요",
    "선생님 이 문제 답이 뭐예요?", "너무 어려워요 ㅠㅠ", "정답은 3번입니다", "ㅋㅋㅋ 재밌다", "안녕하세요 여러분",
    "고양이 새끼가 귀여워요", "씨방은 꽃의 한 부분이에요", "5개년 계획을 배웠어요", "등신대 사진 찍자",
    "시 발표는 내일이에요", "미친 듯이 공부했어요", "오늘 수업 재미있었어요!", "이거 맞아요? 아닌가요?",
    "하하 ㅎㅎ", "영어 단어 외우기", "분수 3/4 = 0.75",
]


@pytest.mark.parametrize("text", EVASIONS)
def test_evasions_are_caught(text: str) -> None:
    verdict = MOD.check(text)
    assert not verdict.allowed, text
    assert verdict.reason == "blocked_word" and verdict.matched


@pytest.mark.parametrize("text", CLEAN)
def test_classroom_messages_pass(text: str) -> None:
    assert MOD.check(text).allowed, (text, MOD.check(text))


def test_lists_are_large_enough() -> None:
    assert len(EVASIONS) >= 30 and len(CLEAN) >= 30


def test_cut_out_allow_words_do_not_hide_a_blocked_one() -> None:
    assert not MOD.check("scunthorpecunt").allowed
    assert not MOD.check("시발점 시발").allowed
    assert not MOD.check("classfuck").allowed


def test_org_words_add_and_allow() -> None:
    org = Moderator.with_org_words([Word("banana", "en", "block"), Word("멍청이", "ko", "block"),
                                    Word("zz", "any", "block"), Word("지랄", "any", "allow")])
    assert org.check("b a n a n a") == org.check("BANANA!")
    assert org.check("banana").reason == "org_word"
    assert org.check("bananas").allowed  # 'en' is the whole token
    assert not org.check("너 멍1청이야").allowed
    assert not org.check("buzzword").allowed  # 'any' is anywhere in a token
    assert org.check("지랄").allowed and not org.check("씨발").allowed
    assert MOD.check("banana").allowed  # the built-in moderator is untouched
    # an org's block word beats a built-in allow word
    assert not Moderator.with_org_words([Word("class", "en", "block")]).check("Class").allowed


@pytest.mark.parametrize(("word", "lang"), [("", "any"), ("two words", "any"), ("abc1", "en"), ("한글", "en"),
                                            ("english", "ko"), ("mix한", "any"), ("a" * 41, "any")])
def test_invalid_org_words(word: str, lang: str) -> None:
    with pytest.raises(ValueError):
        validate_word(word, lang)  # type: ignore[arg-type]


def test_org_word_stored_form() -> None:
    assert validate_word("  Banana ", "en") == "banana"
    assert validate_word(unicodedata.normalize("NFD", "멍청이"), "ko") == "멍청이"


def test_long_input_is_bounded() -> None:
    assert MOD.check("hello " * 5000).allowed
    assert not MOD.check("hello " * 10 + "fuck").allowed


# --- nicknames --------------------------------------------------------------------------------

def _code(raw: str) -> str:
    with pytest.raises(AppError) as err:
        clean_nickname(raw)
    assert err.value.status == 422
    return err.value.code


def test_composed_and_decomposed_hangul_are_one_nickname() -> None:
    composed = clean_nickname("민수")
    decomposed = clean_nickname(unicodedata.normalize("NFD", "민수"))
    assert composed == decomposed == ("민수", "민수")


def test_trim_and_collapse_whitespace() -> None:
    assert clean_nickname("  Mina \t  Kim\u3000 ") == ("Mina Kim", "mina kim")


def test_uniqueness_key_folds_case_and_width() -> None:
    keys = {clean_nickname(n)[1] for n in ("Mina", "MINA", "ｍｉｎａ", "mina")}
    assert keys == {"mina"}
    assert clean_nickname("Straße")[1] == clean_nickname("STRASSE")[1]


def test_length_counts_emoji_as_characters() -> None:
    assert char_count("🦊") == 1 and char_count("👨\u200d👩\u200d👧") == 1 and char_count("🇰🇷") == 1
    assert char_count("👍🏽") == 1 and char_count("1️⃣") == 1
    assert clean_nickname("🦊" * MAX_CHARS)[0] == "🦊" * MAX_CHARS
    assert clean_nickname("👨\u200d👩\u200d👧" * MAX_CHARS)[0]
    assert _code("🦊" * (MAX_CHARS + 1)) == "classroom.nickname_invalid"
    assert clean_nickname("가" * MAX_CHARS)
    assert _code("a" * (MAX_CHARS + 1)) == "classroom.nickname_invalid"
    assert clean_nickname("a")[0] == "a"


@pytest.mark.parametrize("raw", ["", "   ", "\u3164", "\u200b", "...", "a\x00b", "a\x1bb", "mi\u200bna",
                                 "mi\u202ena", "x\u200dy", "ㅤ민수", "z" + "\u0301" * 8,
                                 "https://evil.example", "www.site.com", "me@mail.com", "go to cheats.com", "Teacher", "선생님"])
def test_invalid_nicknames(raw: str) -> None:
    assert _code(raw) == "classroom.nickname_invalid"


@pytest.mark.parametrize("raw", ["fuck", "씨발", "f u c k", "ㅅㅂ", "Big Sh1t", "병신왕", "a$$hole 1"])
def test_rude_nicknames_are_rejected(raw: str) -> None:
    assert _code(raw) == "classroom.nickname_rejected"


def test_org_moderator_applies_to_nicknames() -> None:
    org = Moderator.with_org_words([Word("banana", "en", "block")])
    assert clean_nickname("banana")[0] == "banana"
    with pytest.raises(AppError) as err:
        clean_nickname("Banana", org)
    assert err.value.code == "classroom.nickname_rejected"


def test_friendly_nicknames_are_clean_and_short() -> None:
    for lang in ("en", "ko"):
        names = all_friendly_names(lang)
        assert len(names) >= 24 * 24
        for name in names:
            nickname, _ = clean_nickname(f"{name} 99")
            assert char_count(nickname) <= MAX_CHARS
    rng = random.Random(7)
    en, ko = friendly_nickname(rng), friendly_nickname(rng, "ko")
    assert en.split()[-1].isdigit() and clean_nickname(en)[0] == en
    assert any("\uac00" <= ch <= "\ud7a3" for ch in ko) and clean_nickname(ko)[0] == ko
