from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tenant(_message.Message):
    __slots__ = ("zone_id", "org_id")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    org_id: str
    def __init__(self, zone_id: _Optional[int] = ..., org_id: _Optional[str] = ...) -> None: ...

class StartSessionRequest(_message.Message):
    __slots__ = ("tenant", "session_id", "item_bank_id", "item_bank_version", "settings_json", "seed", "prior_responses")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_VERSION_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_JSON_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    PRIOR_RESPONSES_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    session_id: str
    item_bank_id: str
    item_bank_version: int
    settings_json: str
    seed: int
    prior_responses: _containers.RepeatedCompositeFieldContainer[Response]
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., session_id: _Optional[str] = ..., item_bank_id: _Optional[str] = ..., item_bank_version: _Optional[int] = ..., settings_json: _Optional[str] = ..., seed: _Optional[int] = ..., prior_responses: _Optional[_Iterable[_Union[Response, _Mapping]]] = ...) -> None: ...

class Response(_message.Message):
    __slots__ = ("item_id", "score")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    score: int
    def __init__(self, item_id: _Optional[str] = ..., score: _Optional[int] = ...) -> None: ...

class NextItemRequest(_message.Message):
    __slots__ = ("tenant", "session_id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    session_id: str
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., session_id: _Optional[str] = ...) -> None: ...

class NextItemResponse(_message.Message):
    __slots__ = ("item_id", "finished", "state")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    finished: bool
    state: SessionState
    def __init__(self, item_id: _Optional[str] = ..., finished: _Optional[bool] = ..., state: _Optional[_Union[SessionState, _Mapping]] = ...) -> None: ...

class SubmitResponsesRequest(_message.Message):
    __slots__ = ("tenant", "session_id", "responses")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    session_id: str
    responses: _containers.RepeatedCompositeFieldContainer[Response]
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., session_id: _Optional[str] = ..., responses: _Optional[_Iterable[_Union[Response, _Mapping]]] = ...) -> None: ...

class FinishRequest(_message.Message):
    __slots__ = ("tenant", "session_id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    session_id: str
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., session_id: _Optional[str] = ...) -> None: ...

class GetStateRequest(_message.Message):
    __slots__ = ("tenant", "session_id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    session_id: str
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., session_id: _Optional[str] = ...) -> None: ...

class SessionState(_message.Message):
    __slots__ = ("session_id", "theta", "se", "administered_item_ids", "responses", "finished", "stop_reason")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    THETA_FIELD_NUMBER: _ClassVar[int]
    SE_FIELD_NUMBER: _ClassVar[int]
    ADMINISTERED_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    theta: float
    se: float
    administered_item_ids: _containers.RepeatedScalarFieldContainer[str]
    responses: _containers.RepeatedCompositeFieldContainer[Response]
    finished: bool
    stop_reason: str
    def __init__(self, session_id: _Optional[str] = ..., theta: _Optional[float] = ..., se: _Optional[float] = ..., administered_item_ids: _Optional[_Iterable[str]] = ..., responses: _Optional[_Iterable[_Union[Response, _Mapping]]] = ..., finished: _Optional[bool] = ..., stop_reason: _Optional[str] = ...) -> None: ...
