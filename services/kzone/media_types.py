"""What a media file really is, from its first bytes (magic numbers), not from what the
client declared. Only the formats K-Zone accepts are recognised; anything else is None.
"""
from __future__ import annotations

from dataclasses import dataclass

# Enough bytes to see every signature below (ISO-BMFF brands, EBML doctype, RIFF form type).
SNIFF_BYTES = 512


@dataclass(frozen=True)
class MediaType:
    kind: str  # audio | video | image
    content_type: str
    ext: str


MP3 = MediaType("audio", "audio/mpeg", "mp3")
WAV = MediaType("audio", "audio/wav", "wav")
OGG = MediaType("audio", "audio/ogg", "ogg")
FLAC = MediaType("audio", "audio/flac", "flac")
AAC = MediaType("audio", "audio/aac", "aac")
M4A = MediaType("audio", "audio/mp4", "m4a")
WEBM_AUDIO = MediaType("audio", "audio/webm", "webm")
MP4 = MediaType("video", "video/mp4", "mp4")
MOV = MediaType("video", "video/quicktime", "mov")
WEBM = MediaType("video", "video/webm", "webm")
MKV = MediaType("video", "video/x-matroska", "mkv")
AVI = MediaType("video", "video/x-msvideo", "avi")
JPEG = MediaType("image", "image/jpeg", "jpg")
PNG = MediaType("image", "image/png", "png")
GIF = MediaType("image", "image/gif", "gif")
WEBP = MediaType("image", "image/webp", "webp")

_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A "}
_QT_BRANDS = {b"qt  "}


def _iso_bmff(head: bytes) -> MediaType | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in _AUDIO_BRANDS:
        return M4A
    if brand in _QT_BRANDS:
        return MOV
    if brand[:3] in (b"hei", b"avi", b"mif"):  # HEIF/AVIF stills: not accepted
        return None
    return MP4


def _ebml(head: bytes) -> MediaType | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    if b"webm" in head[:64]:
        # A browser's MediaRecorder writes audio-only WebM; without parsing tracks we cannot tell,
        # so WebM counts as video here and as audio where audio is asked for (see `detect`).
        return WEBM
    if b"matroska" in head[:64]:
        return MKV
    return None


def _mp3(head: bytes) -> bool:
    if head.startswith(b"ID3") and len(head) >= 10 and head[3] in (2, 3, 4):
        return True
    # MPEG audio frame sync: 11 set bits, layer III (or II), a valid bitrate and sample rate.
    if len(head) >= 4 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        layer = (head[1] >> 1) & 0x3
        bitrate = head[2] >> 4
        rate = (head[2] >> 2) & 0x3
        return layer in (1, 2) and bitrate not in (0, 15) and rate != 3
    return False


def detect(head: bytes, *, want: frozenset[str] | None = None) -> MediaType | None:
    """The media type of a file starting with `head` (give at least SNIFF_BYTES when the file
    has them), or None. `want` (kinds) resolves WebM to audio when only audio is wanted."""
    found: MediaType | None = None
    if head.startswith(b"\xff\xd8\xff"):
        found = JPEG
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        found = PNG
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        found = GIF
    elif head[:4] == b"RIFF" and len(head) >= 12:
        found = {b"WAVE": WAV, b"WEBP": WEBP, b"AVI ": AVI}.get(head[8:12])
    elif head.startswith(b"OggS"):
        found = OGG
    elif head.startswith(b"fLaC"):
        found = FLAC
    elif (m := _iso_bmff(head)) is not None:
        found = m
    elif (m := _ebml(head)) is not None:
        found = m
    elif _mp3(head):
        found = MP3
    elif len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF6) == 0xF0:  # AAC ADTS
        found = AAC
    if found is WEBM and want is not None and "video" not in want and "audio" in want:
        return WEBM_AUDIO
    return found


def declared_kind(content_type: str | None) -> str | None:
    """The kind a client declared (`audio/…`, `video/…`, `image/…`), None for generic types."""
    major = (content_type or "").split("/", 1)[0].strip().lower()
    return major if major in ("audio", "video", "image") else None
