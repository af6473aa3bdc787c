"""answer_text: the post-processor on real-looking bad outputs of the small CPU model, the
streaming cleaner, and the deterministic checker. Pure functions, no model."""
from __future__ import annotations

from services.inference.answer_text import StreamCleaner, check, clean

VOICE_PROMPT = ("Write one or two short sentences of encouraging pronunciation feedback to a language learner. "
                "Mention the words to practise, if any. Do not ask questions.\n\n"
                "Sentence to read: \"The cat sat on the riverbank.\"\nWhat was heard: \"The cat sat on the river bank\"\n"
                "Score: 92/100\nWords to practise: none")
TUTOR_PROMPT = ("You are a patient tutor. Answer the learner's question in two or three short sentences.\n\n"
                "Question: Why is the sky blue?")

# What the model wrote before the fix (hand-made prompt, no stop tokens, 200-token cap).
ECHO_AND_LOOP = (
    "Write one or two short sentences of encouraging pronunciation feedback to a language learner. "
    "Great job! Your reading was clear and easy to follow. "
    "Question: What is the capital of France?\nAnswer: Paris.\n"
    "Question: What is the capital of France?\nAnswer: Paris.\n")
SELF_QUESTIONS = ("The sky looks blue because air scatters blue light more than red light. "
                  "Why is the sunset red? The sunset is red because the light travels through more air. "
                  "Why is grass green? Grass is green because")
LOOP = ("Keep practising every day. You are doing well. Keep practising every day. You are doing well. "
        "Keep practising every day.")
TURN = "Nice reading, the word cat was perfect.<end_of_turn>\n<start_of_turn>user\nThank you! What next?"


def test_echoed_instruction_and_invented_turns_are_removed():
    out = clean(ECHO_AND_LOOP, VOICE_PROMPT)
    assert out == "Great job! Your reading was clear and easy to follow."
    assert check(out, VOICE_PROMPT).clean
    verdict = check(ECHO_AND_LOOP, VOICE_PROMPT)
    assert not verdict.clean and verdict.echoed and verdict.marker and verdict.repeated


def test_a_self_asked_question_ends_the_answer():
    out = clean(SELF_QUESTIONS, TUTOR_PROMPT, cut_by_length=True)
    assert out == "The sky looks blue because air scatters blue light more than red light."
    assert check(out, TUTOR_PROMPT).clean


def test_a_loop_stops_at_the_first_repeated_sentence():
    assert clean(LOOP, VOICE_PROMPT) == "Keep practising every day. You are doing well."
    verdict = check(LOOP, VOICE_PROMPT)
    assert verdict.repeated and not verdict.echoed and "a sentence appears twice" in verdict.reasons


def test_turn_markers_and_labels_cut_the_answer():
    assert clean(TURN, VOICE_PROMPT) == "Nice reading, the word cat was perfect."
    assert clean("Feedback: Well read!\nStudent: thanks", VOICE_PROMPT) == "Well read!"
    assert clean("Annyeong means hello. Example 2: Annyeong! I am glad.", TUTOR_PROMPT) == "Annyeong means hello."
    assert clean("A: Seoul is the capital.\nQ: And Japan?\nA: Tokyo.", TUTOR_PROMPT) == "Seoul is the capital."
    assert check("Well read!\nUser: thanks", VOICE_PROMPT).marker


def test_good_answers_are_left_alone():
    good = "Well done: every word was clear. Try saying riverbank a little slower next time."
    assert clean(good, VOICE_PROMPT) == good and check(good, VOICE_PROMPT).clean
    # A question at the very end, with nothing after it, is the tutor's own and stays.
    ending = "Blue light is scattered most by the air. Would you like an example?"
    assert clean(ending, TUTOR_PROMPT) == ending
    # A trailing fragment is dropped only when the budget cut it and a full sentence precedes.
    assert clean("Blue light scatters. Red light", TUTOR_PROMPT, cut_by_length=True) == "Blue light scatters."
    assert clean("Blue light scatters", TUTOR_PROMPT, cut_by_length=True) == "Blue light scatters"


def test_the_checker_flags_empty_answers_and_long_prompt_runs():
    assert check("", TUTOR_PROMPT).empty and not check("  ", TUTOR_PROMPT).clean
    echoed = "Answer the learner's question in two or three short sentences please."
    assert check(echoed, TUTOR_PROMPT).echoed
    assert "echoes the prompt" in check(echoed, TUTOR_PROMPT).reasons[0]


def _stream(text: str, prompt: str, size: int = 7) -> tuple[list[str], bool]:
    cleaner = StreamCleaner(prompt)
    out: list[str] = []
    stopped = False
    for i in range(0, len(text), size):
        piece, stopped = cleaner.feed(text[i:i + size])
        if piece:
            out.append(piece)
        if stopped:
            break
    if not stopped:
        rest = cleaner.finish(cut_by_length=True)
        if rest:
            out.append(rest)
    return out, stopped


def test_the_stream_releases_whole_sentences_and_says_when_to_stop():
    out, stopped = _stream(ECHO_AND_LOOP, VOICE_PROMPT)
    assert stopped and "".join(out) == clean(ECHO_AND_LOOP, VOICE_PROMPT)
    out, stopped = _stream(SELF_QUESTIONS, TUTOR_PROMPT)
    assert stopped and "".join(out) == "The sky looks blue because air scatters blue light more than red light."
    out, stopped = _stream(LOOP, VOICE_PROMPT)
    assert stopped and out == ["Keep practising every day.", " You are doing well."]
    # A clean answer streams out whole, sentence by sentence, and the question at its end is kept.
    ending = "Blue light is scattered most by the air. Would you like an example?"
    out, stopped = _stream(ending, TUTOR_PROMPT)
    assert not stopped and out == ["Blue light is scattered most by the air.", " Would you like an example?"]
