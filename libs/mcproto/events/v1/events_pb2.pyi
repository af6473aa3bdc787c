from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Envelope(_message.Message):
    __slots__ = ("type", "zone_id", "org_id", "occurred_at", "data_json")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    type: str
    zone_id: int
    org_id: str
    occurred_at: str
    data_json: str
    def __init__(self, type: _Optional[str] = ..., zone_id: _Optional[int] = ..., org_id: _Optional[str] = ..., occurred_at: _Optional[str] = ..., data_json: _Optional[str] = ...) -> None: ...

class MeshProbeRecorded(_message.Message):
    __slots__ = ("probe_id", "zone_id", "entry_service")
    PROBE_ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRY_SERVICE_FIELD_NUMBER: _ClassVar[int]
    probe_id: str
    zone_id: int
    entry_service: str
    def __init__(self, probe_id: _Optional[str] = ..., zone_id: _Optional[int] = ..., entry_service: _Optional[str] = ...) -> None: ...
