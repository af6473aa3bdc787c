"""Field types the tenant API and the roster import validate the same way."""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,}$")
_PHONE_STRIP = re.compile(r"[\s\-().]")
PHONE_RE = re.compile(r"^\+?[0-9]{7,15}$")
MAX_NAME = 100


def normalize_phone(value: str) -> str:
    """`010-1234-5678` -> `01012345678`; ValueError when it is not a phone number."""
    phone = _PHONE_STRIP.sub("", value.strip())
    if not PHONE_RE.match(phone):
        raise ValueError("must be a phone number of 7 to 15 digits (spaces, dashes, dots and brackets allowed)")
    return phone


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if not EMAIL_RE.match(email):
        raise ValueError("must be an email address")
    return email


def normalize_name(value: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"must be 1 to {MAX_NAME} characters")
    return name


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(normalize_email),
                  Field(examples=["kim.student@example.com"])]
Phone = Annotated[str, StringConstraints(max_length=40), AfterValidator(normalize_phone),
                  Field(examples=["010-1234-5678"])]
Name = Annotated[str, StringConstraints(max_length=200), AfterValidator(normalize_name),
                 Field(examples=["Kim Minji"])]
Grade = Annotated[int, Field(ge=1, le=20, examples=[10])]
