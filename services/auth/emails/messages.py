"""The text of account emails: Korean first, then English, plain text; the link goes to the
zone's www pages (`/reset-password#token=…`, `/verify-email#token=…`). The token rides in the
fragment, which browsers never send: it stays out of access logs, traces and Referer headers
(the page's script reads it and drops it from the address bar and history)."""
from __future__ import annotations

from urllib.parse import quote

from megacity.zones import Zone

PATHS = {"password_reset": "/reset-password", "email_verification": "/verify-email"}


def link(base: str, zone: Zone, kind: str, token: str) -> str:
    """`base` is AUTH_ACCOUNT_LINK_BASE, e.g. `https://www.{domain}` (the zone's first domain)."""
    return base.format(domain=zone.domains[0]).rstrip("/") + f"{PATHS[kind]}#token={quote(token)}"


def compose(kind: str, zone: Zone, url: str, to_name: str, minutes: int) -> tuple[str, str]:
    """(subject, body) of one email."""
    name_ko = zone.brand.name_ko or zone.name
    hello_ko = f"{to_name}님, 안녕하세요." if to_name else "안녕하세요."
    hello_en = f"Hello {to_name}," if to_name else "Hello,"
    if kind == "password_reset":
        subject = f"[{name_ko}] 비밀번호 재설정 / Reset your password"
        ko = [hello_ko, "", f"{name_ko} 계정의 비밀번호 재설정을 요청하셨습니다. 아래 링크에서 새 비밀번호를 정하세요.",
              url, "", f"이 링크는 {minutes}분 동안 한 번만 쓸 수 있습니다. 비밀번호를 바꾸면 모든 기기에서 로그아웃됩니다.",
              "요청하지 않으셨다면 이 메일을 무시하세요. 비밀번호는 바뀌지 않습니다."]
        en = [hello_en, "", f"Someone asked to reset the password of your {zone.name} account. Choose a new "
              "password here:", url, "", f"The link works once, for {minutes} minutes. Changing the password "
              "signs you out on every device.", "If you did not ask for this, ignore this email: your password "
              "stays as it is."]
    else:
        subject = f"[{name_ko}] 이메일 주소 확인 / Confirm your email address"
        ko = [hello_ko, "", f"{name_ko} 계정의 이메일 주소를 확인하려면 아래 링크를 여세요.", url, "",
              f"이 링크는 {minutes // 60}시간 동안 한 번만 쓸 수 있습니다. 가입하지 않으셨다면 이 메일을 무시하세요."]
        en = [hello_en, "", f"Confirm the email address of your {zone.name} account by opening this link:", url,
              "", f"The link works once, for {minutes // 60} hours. If you did not sign up, ignore this email."]
    return subject, "\n".join([*ko, "", "-" * 40, "", *en, ""])
