from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

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

class ParentLinkChanged(_message.Message):
    __slots__ = ("link_id", "org_id", "parent_user_id", "student_user_id", "student_id", "status", "via", "by")
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    STUDENT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    STUDENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VIA_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    link_id: str
    org_id: str
    parent_user_id: str
    student_user_id: str
    student_id: str
    status: str
    via: str
    by: str
    def __init__(self, link_id: _Optional[str] = ..., org_id: _Optional[str] = ..., parent_user_id: _Optional[str] = ..., student_user_id: _Optional[str] = ..., student_id: _Optional[str] = ..., status: _Optional[str] = ..., via: _Optional[str] = ..., by: _Optional[str] = ...) -> None: ...

class ParentCodeIssued(_message.Message):
    __slots__ = ("code_id", "org_id", "student_id", "by", "expires_at")
    CODE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STUDENT_ID_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    code_id: str
    org_id: str
    student_id: str
    by: str
    expires_at: str
    def __init__(self, code_id: _Optional[str] = ..., org_id: _Optional[str] = ..., student_id: _Optional[str] = ..., by: _Optional[str] = ..., expires_at: _Optional[str] = ...) -> None: ...

class ExamAttemptCompleted(_message.Message):
    __slots__ = ("attempt_id", "exam_id", "student_id", "class_id", "kind", "status", "counted", "required_items", "theta", "se", "scaled_score", "raw_score", "max_score", "responses", "estimator", "stop_reason", "ended_at")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    EXAM_ID_FIELD_NUMBER: _ClassVar[int]
    STUDENT_ID_FIELD_NUMBER: _ClassVar[int]
    CLASS_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COUNTED_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    THETA_FIELD_NUMBER: _ClassVar[int]
    SE_FIELD_NUMBER: _ClassVar[int]
    SCALED_SCORE_FIELD_NUMBER: _ClassVar[int]
    RAW_SCORE_FIELD_NUMBER: _ClassVar[int]
    MAX_SCORE_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    ESTIMATOR_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    exam_id: str
    student_id: str
    class_id: str
    kind: str
    status: str
    counted: bool
    required_items: int
    theta: float
    se: float
    scaled_score: float
    raw_score: int
    max_score: int
    responses: int
    estimator: str
    stop_reason: str
    ended_at: str
    def __init__(self, attempt_id: _Optional[str] = ..., exam_id: _Optional[str] = ..., student_id: _Optional[str] = ..., class_id: _Optional[str] = ..., kind: _Optional[str] = ..., status: _Optional[str] = ..., counted: _Optional[bool] = ..., required_items: _Optional[int] = ..., theta: _Optional[float] = ..., se: _Optional[float] = ..., scaled_score: _Optional[float] = ..., raw_score: _Optional[int] = ..., max_score: _Optional[int] = ..., responses: _Optional[int] = ..., estimator: _Optional[str] = ..., stop_reason: _Optional[str] = ..., ended_at: _Optional[str] = ...) -> None: ...

class ClassroomSessionStarted(_message.Message):
    __slots__ = ("session_id", "class_id", "teacher_id", "code", "started_at", "expires_at")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CLASS_ID_FIELD_NUMBER: _ClassVar[int]
    TEACHER_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    class_id: str
    teacher_id: str
    code: str
    started_at: str
    expires_at: str
    def __init__(self, session_id: _Optional[str] = ..., class_id: _Optional[str] = ..., teacher_id: _Optional[str] = ..., code: _Optional[str] = ..., started_at: _Optional[str] = ..., expires_at: _Optional[str] = ...) -> None: ...

class ClassroomSessionEnded(_message.Message):
    __slots__ = ("session_id", "class_id", "reason", "ended_at")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CLASS_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    class_id: str
    reason: str
    ended_at: str
    def __init__(self, session_id: _Optional[str] = ..., class_id: _Optional[str] = ..., reason: _Optional[str] = ..., ended_at: _Optional[str] = ...) -> None: ...

class ClassroomAnswerRecorded(_message.Message):
    __slots__ = ("session_id", "card_no", "participant_id", "correct", "points", "elapsed_ms", "mode", "answered_at")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_NO_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECT_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_AT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    card_no: int
    participant_id: str
    correct: bool
    points: int
    elapsed_ms: int
    mode: str
    answered_at: str
    def __init__(self, session_id: _Optional[str] = ..., card_no: _Optional[int] = ..., participant_id: _Optional[str] = ..., correct: _Optional[bool] = ..., points: _Optional[int] = ..., elapsed_ms: _Optional[int] = ..., mode: _Optional[str] = ..., answered_at: _Optional[str] = ...) -> None: ...

class ArenaMatchFinished(_message.Message):
    __slots__ = ("match_id", "mode", "topic", "rated", "winner_user_id", "end_reason", "finished_at", "unrated_reason")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    RATED_FIELD_NUMBER: _ClassVar[int]
    WINNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    UNRATED_REASON_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    mode: str
    topic: str
    rated: bool
    winner_user_id: str
    end_reason: str
    finished_at: str
    unrated_reason: str
    def __init__(self, match_id: _Optional[str] = ..., mode: _Optional[str] = ..., topic: _Optional[str] = ..., rated: _Optional[bool] = ..., winner_user_id: _Optional[str] = ..., end_reason: _Optional[str] = ..., finished_at: _Optional[str] = ..., unrated_reason: _Optional[str] = ...) -> None: ...

class ArenaRatingChanged(_message.Message):
    __slots__ = ("match_id", "user_id", "topic", "reason", "rating_before", "rating_after", "rd_after", "provisional")
    MATCH_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RATING_BEFORE_FIELD_NUMBER: _ClassVar[int]
    RATING_AFTER_FIELD_NUMBER: _ClassVar[int]
    RD_AFTER_FIELD_NUMBER: _ClassVar[int]
    PROVISIONAL_FIELD_NUMBER: _ClassVar[int]
    match_id: str
    user_id: str
    topic: str
    reason: str
    rating_before: float
    rating_after: float
    rd_after: float
    provisional: bool
    def __init__(self, match_id: _Optional[str] = ..., user_id: _Optional[str] = ..., topic: _Optional[str] = ..., reason: _Optional[str] = ..., rating_before: _Optional[float] = ..., rating_after: _Optional[float] = ..., rd_after: _Optional[float] = ..., provisional: _Optional[bool] = ...) -> None: ...

class AuditActor(_message.Message):
    __slots__ = ("user_id", "role", "kind")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    role: str
    kind: str
    def __init__(self, user_id: _Optional[str] = ..., role: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class AuditTarget(_message.Message):
    __slots__ = ("type", "id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class AuditRecorded(_message.Message):
    __slots__ = ("service", "action", "actor", "target", "before", "after", "trace_id", "occurred_at")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    service: str
    action: str
    actor: AuditActor
    target: AuditTarget
    before: _struct_pb2.Struct
    after: _struct_pb2.Struct
    trace_id: str
    occurred_at: str
    def __init__(self, service: _Optional[str] = ..., action: _Optional[str] = ..., actor: _Optional[_Union[AuditActor, _Mapping]] = ..., target: _Optional[_Union[AuditTarget, _Mapping]] = ..., before: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., after: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., trace_id: _Optional[str] = ..., occurred_at: _Optional[str] = ...) -> None: ...
