"""File names in multipart uploads (issue #9): non-Latin-1 names arrive as browsers send them
(raw UTF-8 inside `filename="…"`, RFC 7578) or as RFC 5987 `filename*=UTF-8''…`, and are stored
and returned exactly; path parts are dropped and very long names capped with their extension;
NUL or a lone surrogate in a file name or text field is 422 `request.invalid` with nothing
stored. The bodies are built byte by byte here (httpx's `files=` would encode names its own way)."""
from __future__ import annotations

import uuid
from urllib.parse import unquote

import pytest

from services.kzone.filenames import MAX_FILENAME_CHARS, base_name, content_disposition, upload_filename
from services.kzone.tests.conftest import KzoneHarness
from services.kzone.tests.media_samples import png, wav
from services.kzone.tests.test_uploads import _no_progress_keys, _nothing_stored

BOUNDARY = b"----WebKitFormBoundaryKz9xQ2"
CTYPE = "multipart/form-data; boundary=" + BOUNDARY.decode()
LONG_STEM = "가나다라마바사아자차카타파하" * 72  # 1008 characters
LONG = LONG_STEM[:996] + ".wav"  # 1000 characters

# (the Content-Disposition filename parameter(s) exactly as sent on the wire, the name to store)
NAMES: list[tuple[bytes, str]] = [
    ('filename="노래.wav"'.encode(), "노래.wav"),  # Chrome / Firefox / Safari: raw UTF-8
    ('filename="ノート.wav"'.encode(), "ノート.wav"),
    ('filename="🎵.wav"'.encode(), "🎵.wav"),
    ('filename="café.wav"'.encode(), "café.wav"),  # é is in Latin-1: must not turn into U+FFFD
    (f'filename="{LONG}"'.encode(), LONG_STEM[:MAX_FILENAME_CHARS - 4] + ".wav"),
    (b"filename*=UTF-8''%EB%85%B8%EB%9E%98.wav", "노래.wav"),  # RFC 5987 only
    (b"filename=\"fallback.wav\"; filename*=UTF-8''%E3%83%8E%E3%83%BC%E3%83%88.wav", "ノート.wav"),  # both: * wins
    (b'filename="..\\x.wav"', "x.wav"),  # path parts are never kept
    (b'filename="..\\\\..\\\\y.wav"', "y.wav"),  # (backslashes escaped in the quoted string)
    (b'filename="a/b.wav"', "b.wav"),
]

BAD_NAMES: list[bytes] = [
    b'filename="a\x00b.wav"',  # raw NUL
    b"filename*=UTF-8''a%00b.wav",
    b'filename="\xed\xa0\x80.wav"',  # a UTF-8-encoded lone surrogate
    b"filename*=UTF-8''%ED%B0%80.wav",
]


def _part(name: str, params: bytes, data: bytes, ctype: str | None = None) -> bytes:
    head = b'Content-Disposition: form-data; name="' + name.encode() + b'"' + (b"; " + params if params else b"")
    if ctype:
        head += b"\r\nContent-Type: " + ctype.encode()
    return b"--" + BOUNDARY + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n"


def _body(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--" + BOUNDARY + b"--\r\n"


def _stored_name(kz: KzoneHarness, media_id: str) -> str:
    return kz.query("SELECT original_filename FROM kzone.kzone_media WHERE id = %s", (uuid.UUID(media_id),))[0][0]


# ---- the three upload paths ------------------------------------------------------------------

async def test_content_upload_keeps_unicode_file_names(kzone: KzoneHarness) -> None:
    audio = wav(0.1)
    for params, expected in NAMES:
        body = _body(_part("file", params, audio, "audio/wav"))
        resp = await kzone.client.post("/api/v1/kzone/uploads", content=body,
                                       headers={**kzone.headers("teacher"), "Content-Type": CTYPE})
        assert resp.status_code == 201, (params, resp.text)
        media = resp.json()
        assert media["filename"] == expected, params
        assert _stored_name(kzone, media["id"]) == expected
        again = await kzone.client.get(f"/api/v1/kzone/uploads/{media['id']}", headers=kzone.headers())
        assert again.status_code == 200 and again.json()["filename"] == expected
    capped = NAMES[4][1]  # the 1000-character name: cut to the cap, extension kept
    assert len(LONG) == 1000 and len(capped) == MAX_FILENAME_CHARS and capped.endswith(".wav")


async def test_voice_job_keeps_unicode_file_names_and_text(kzone: KzoneHarness) -> None:
    audio = wav(0.1)
    reference = "안녕하세요, 만나서 반갑습니다 🎵"
    me = kzone.headers(user=uuid.uuid4())  # AI-job input media is visible to its owner
    for params, expected in NAMES:
        body = _body(_part("reference_text", b"", reference.encode()), _part("language", b"", b"ko"),
                     _part("audio", params, audio, "audio/wav"))
        resp = await kzone.client.post("/api/v1/kzone/voice/analyze", content=body,
                                       headers={**me, "Content-Type": CTYPE})
        assert resp.status_code == 202, (params, resp.text)
        job = resp.json()
        assert _stored_name(kzone, job["input_media_id"]) == expected, params
        got = await kzone.client.get(f"/api/v1/kzone/uploads/{job['input_media_id']}", headers=me)
        assert got.status_code == 200 and got.json()["filename"] == expected
        detail = (await kzone.client.get(job["detail_url"], headers=me)).json()
        assert detail["params"]["reference_text"] == reference


async def test_pose_job_keeps_unicode_file_names(kzone: KzoneHarness) -> None:
    image = png()
    for params, expected in NAMES:
        ref_params = params.replace(b".wav", b".png")
        body = _body(_part("file", params.replace(b".wav", b".png"), image, "image/png"),
                     _part("reference", ref_params, image, "image/png"))
        resp = await kzone.client.post("/api/v1/kzone/dance/pose-detection", content=body,
                                       headers={**kzone.headers(), "Content-Type": CTYPE})
        assert resp.status_code == 202, (params, resp.text)
        job = resp.json()
        png_name = expected.removesuffix(".wav") + ".png"
        assert _stored_name(kzone, job["input_media_id"]) == png_name, params
        assert _stored_name(kzone, job["reference_media_id"]) == png_name


# ---- refused: NUL and lone surrogates ----------------------------------------------------------

def _assert_unstorable(resp, loc: list[str]) -> None:
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert (problem["status"], problem["code"]) == (422, "request.invalid")
    assert problem["errors"][0]["loc"] == loc and problem["errors"][0]["type"] == "string_unstorable"


async def test_nul_or_surrogate_in_a_file_name_or_field_is_422_and_nothing_stored(kzone: KzoneHarness,
                                                                                  redis_client) -> None:
    c = kzone.client
    for bad in BAD_NAMES:
        body = _body(_part("file", bad, wav(0.1), "audio/wav"))
        resp = await c.post("/api/v1/kzone/uploads", content=body,
                            headers={**kzone.headers("teacher"), "Content-Type": CTYPE})
        _assert_unstorable(resp, ["body", "file", "filename"])

        body = _body(_part("reference_text", b"", b"hello"), _part("audio", bad, wav(0.1), "audio/wav"))
        resp = await c.post("/api/v1/kzone/voice/analyze", content=body,
                            headers={**kzone.headers(), "Content-Type": CTYPE})
        _assert_unstorable(resp, ["body", "audio", "filename"])

        # the main file is already streaming into storage when the reference's name is refused
        body = _body(_part("file", b'filename="ok.png"', png(), "image/png"),
                     _part("reference", bad.replace(b".wav", b".png"), png(), "image/png"))
        resp = await c.post("/api/v1/kzone/dance/pose-detection", content=body,
                            headers={**kzone.headers(), "Content-Type": CTYPE})
        _assert_unstorable(resp, ["body", "reference", "filename"])

    # a text field after the file (already streamed) holding NUL or an encoded lone surrogate
    for bad_text in (b"hel\x00lo", b"hel\xed\xa0\x80lo"):
        body = _body(_part("audio", b'filename="a.wav"', wav(0.1), "audio/wav"),
                     _part("reference_text", b"", bad_text))
        resp = await c.post("/api/v1/kzone/voice/analyze", content=body,
                            headers={**kzone.headers(), "Content-Type": CTYPE})
        _assert_unstorable(resp, ["body", "reference_text"])
    _nothing_stored(kzone)
    await _no_progress_keys(redis_client, kzone.namespace)


# ---- the helpers, without HTTP ---------------------------------------------------------------

@pytest.mark.parametrize(("disposition", "expected"), [
    (b'form-data; name="f"', None),
    (b'form-data; name="f"; filename=""', None),
    (b'form-data; name="f"; filename="dir/"', None),
    (b'form-data; name="f"; filename="C:\\\\Users\\\\me\\\\take 1.wav"', "take 1.wav"),
    (b'form-data; name="f"; filename="caf\xe9.wav"', "café.wav"),  # Latin-1 bytes: Starlette's fallback
    (b"form-data; name=\"f\"; filename*=iso-8859-1'en'caf%E9.wav", "café.wav"),
    (b"form-data; name=\"f\"; filename*0*=UTF-8''%EB%85%B8; filename*1=\"%EB%9E%98.wav\"", "노%EB%9E%98.wav"),
    (b"form-data; name=\"f\"; filename*0*=UTF-8''%EB%85%B8; filename*1*=%EB%9E%98.wav", "노래.wav"),
    # unusable filename* (unknown charset, broken continuations): the plain one is used
    (b"form-data; name=\"f\"; filename=\"a.wav\"; filename*=x-nope''b.wav", "a.wav"),
    (b"form-data; name=\"f\"; filename=\"a.wav\"; filename*=UTF-8''b; filename*0=c", "a.wav"),
    (b'form-data; name="f"; filename="semi;colon \\"quoted\\".wav"', 'semi;colon "quoted".wav'),
])
def test_upload_filename(disposition: bytes, expected: str | None) -> None:
    from python_multipart.multipart import parse_options_header

    _, params = parse_options_header(disposition)
    assert upload_filename(disposition, params) == expected


def test_base_name_caps_length_keeping_the_extension() -> None:
    assert base_name("x" * 300 + ".flac") == "x" * (MAX_FILENAME_CHARS - 5) + ".flac"
    assert base_name("y" * 300) == "y" * MAX_FILENAME_CHARS
    assert base_name("z" * 300 + "." + "e" * 40) == ("z" * 300 + "." + "e" * 40)[:MAX_FILENAME_CHARS]
    assert base_name("🎵" * 300 + ".mp3") == "🎵" * (MAX_FILENAME_CHARS - 4) + ".mp3"


@pytest.mark.parametrize(("name", "header"), [
    ("take1.wav", 'inline; filename="take1.wav"'),
    ("café.wav", "inline; filename=\"cafe.wav\"; filename*=UTF-8''caf%C3%A9.wav"),
    ("노래.wav", "inline; filename=\"download.wav\"; filename*=UTF-8''%EB%85%B8%EB%9E%98.wav"),
    ('a "b" 100%.wav', "inline; filename=\"a _b_ 100_.wav\"; filename*=UTF-8''a%20%22b%22%20100%25.wav"),
])
def test_content_disposition_is_ascii_rfc6266(name: str, header: str) -> None:
    value = content_disposition(name)
    assert value == header
    assert value.isascii()
    if "filename*=" in value:
        assert unquote(value.split("filename*=UTF-8''", 1)[1]) == name
