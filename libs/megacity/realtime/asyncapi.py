"""An AsyncAPI 3.0 document of a realtime WebSocket, generated from its protocol models, so every
service's asyncapi.yaml has the same envelope (`v`, `seq`, `type`, `data`, `ref`) and layout.

A service keeps a small `live/asyncapi.py` that describes its socket in a `Socket` and calls
`render(socket)`; a test compares the file with `render(...)` so the document never goes stale.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel

from megacity.realtime.protocol import PROTOCOL_VERSION


@dataclass(frozen=True)
class Socket:
    """What differs between services' sockets.

    `server_frames`: type -> (model, audience, when); an audience ending in "(direct)" (and
    `error`) is a reply carrying the client's `ref`, not a sequenced room frame.
    `frame_errors`: (status, code, detail) of every `error` frame code, listed on `error`.
    """

    title: str
    description: str
    address: str
    server_frames: Mapping[str, tuple[type[BaseModel], str, str]]
    client_frames: Mapping[str, type[BaseModel]]
    close_codes: Mapping[int, str]
    generator: str  # the command that rewrites the file, named in its header
    seq_scope: str = "room"
    parameters: Mapping[str, str] = field(default_factory=dict)
    frame_errors: Iterable[tuple[int, str, str]] = ()


def _envelope(type_: str, data_ref: str, *, sequenced: bool, direct: bool, seq_scope: str) -> dict[str, Any]:
    props: dict[str, Any] = {"v": {"const": PROTOCOL_VERSION}, "type": {"const": type_},
                             "data": {"$ref": data_ref}}
    required = ["v", "type", "data"]
    if sequenced:
        props["seq"] = {"type": "integer", "minimum": 1, "description": f"per-{seq_scope} sequence number"}
        required.append("seq")
    if direct:
        props["ref"] = {"type": ["string", "null"], "description": "the client frame's ref"}
    if type_ == "snapshot":
        props["resync"] = {"type": "boolean", "description": "true: missed frames are too old to replay"}
    return {"type": "object", "properties": props, "required": required}


def document(socket: Socket) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}

    def add_model(model: type[BaseModel]) -> str:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[model.__name__] = schema
        return f"#/components/schemas/{model.__name__}"

    errors = [e for e in socket.frame_errors if e[0] != 426]
    for type_, (model, audience, when) in socket.server_frames.items():
        direct = audience.endswith("(direct)") or type_ == "error"
        messages[type_] = {"name": type_, "summary": f"{when} — to {audience}",
                           "payload": _envelope(type_, add_model(model), sequenced=not direct and type_ != "error",
                                                direct=direct, seq_scope=socket.seq_scope)}
        if type_ == "error" and errors:  # the stable codes (the same list the 426 route's OpenAPI has)
            messages[type_]["description"] = "`data.code`, with its HTTP status:\n" + "\n".join(
                f"- `{code}` ({status}): {detail}" for status, code, detail in errors)
    for type_, client_model in socket.client_frames.items():
        ref = add_model(client_model)
        messages[f"client_{type_}"] = {
            "name": type_, "summary": f"client frame `{type_}`",
            "payload": {"type": "object", "required": ["type", "data"], "properties": {
                "type": {"const": type_}, "ref": {"type": "string", "maxLength": 64}, "data": {"$ref": ref}}}}
    server_refs = [{"$ref": f"#/channels/live/messages/{t}"} for t in socket.server_frames]
    client_refs = [{"$ref": f"#/channels/live/messages/client_{t}"} for t in socket.client_frames]
    channel: dict[str, Any] = {"address": socket.address}
    if socket.parameters:
        channel["parameters"] = {name: {"description": text} for name, text in socket.parameters.items()}
    channel["messages"] = messages
    return {
        "asyncapi": "3.0.0",
        "info": {"title": socket.title, "version": f"{PROTOCOL_VERSION}.0.0",
                 "description": socket.description + " Close codes:\n"
                 + "\n".join(f"- {c}: {t}" for c, t in socket.close_codes.items())},
        "servers": {"edge": {"host": "api.{domain}", "protocol": "wss", "variables": {
            "domain": {"default": "univprepai.com", "description": "any zone's domain (libs/megacity/zones.yaml)"}}}},
        "channels": {"live": channel},
        "operations": {
            "receiveFrames": {"action": "receive", "channel": {"$ref": "#/channels/live"}, "messages": server_refs,
                              "summary": "frames the server sends"},
            "sendFrames": {"action": "send", "channel": {"$ref": "#/channels/live"}, "messages": client_refs,
                           "summary": "frames a client sends"}},
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def render(socket: Socket) -> str:
    header = f"# Generated by `{socket.generator}` from live/schemas.py — do not edit.\n"
    return header + yaml.safe_dump(document(socket), sort_keys=False, allow_unicode=True, width=110)
