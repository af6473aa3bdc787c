from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetZoneRequest(_message.Message):
    __slots__ = ("zone_id", "zone_key")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_KEY_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    zone_key: str
    def __init__(self, zone_id: _Optional[int] = ..., zone_key: _Optional[str] = ...) -> None: ...

class Zone(_message.Message):
    __slots__ = ("id", "key", "name", "domains")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DOMAINS_FIELD_NUMBER: _ClassVar[int]
    id: int
    key: str
    name: str
    domains: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[int] = ..., key: _Optional[str] = ..., name: _Optional[str] = ..., domains: _Optional[_Iterable[str]] = ...) -> None: ...

class GetOrgRequest(_message.Message):
    __slots__ = ("zone_id", "org_id")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    org_id: str
    def __init__(self, zone_id: _Optional[int] = ..., org_id: _Optional[str] = ...) -> None: ...

class Org(_message.Message):
    __slots__ = ("id", "zone_id", "name", "plan", "status")
    ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    id: str
    zone_id: int
    name: str
    plan: str
    status: str
    def __init__(self, id: _Optional[str] = ..., zone_id: _Optional[int] = ..., name: _Optional[str] = ..., plan: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class RecordMeshProbeRequest(_message.Message):
    __slots__ = ("zone_id", "entry_service", "note")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRY_SERVICE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    entry_service: str
    note: str
    def __init__(self, zone_id: _Optional[int] = ..., entry_service: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class MeshProbe(_message.Message):
    __slots__ = ("id", "zone_id", "entry_service", "recorded_by", "trace_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRY_SERVICE_FIELD_NUMBER: _ClassVar[int]
    RECORDED_BY_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    zone_id: int
    entry_service: str
    recorded_by: str
    trace_id: str
    def __init__(self, id: _Optional[str] = ..., zone_id: _Optional[int] = ..., entry_service: _Optional[str] = ..., recorded_by: _Optional[str] = ..., trace_id: _Optional[str] = ...) -> None: ...

class ListMembershipsRequest(_message.Message):
    __slots__ = ("zone_id", "user_id")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    user_id: str
    def __init__(self, zone_id: _Optional[int] = ..., user_id: _Optional[str] = ...) -> None: ...

class Membership(_message.Message):
    __slots__ = ("zone_id", "org_id", "user_id", "role")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    org_id: str
    user_id: str
    role: str
    def __init__(self, zone_id: _Optional[int] = ..., org_id: _Optional[str] = ..., user_id: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class MembershipList(_message.Message):
    __slots__ = ("memberships",)
    MEMBERSHIPS_FIELD_NUMBER: _ClassVar[int]
    memberships: _containers.RepeatedCompositeFieldContainer[Membership]
    def __init__(self, memberships: _Optional[_Iterable[_Union[Membership, _Mapping]]] = ...) -> None: ...

class CheckParentLinkRequest(_message.Message):
    __slots__ = ("zone_id", "org_id", "parent_user_id", "student_id")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    STUDENT_ID_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    org_id: str
    parent_user_id: str
    student_id: str
    def __init__(self, zone_id: _Optional[int] = ..., org_id: _Optional[str] = ..., parent_user_id: _Optional[str] = ..., student_id: _Optional[str] = ...) -> None: ...

class ParentLinkStatus(_message.Message):
    __slots__ = ("approved", "link_id", "status")
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    LINK_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    approved: bool
    link_id: str
    status: str
    def __init__(self, approved: _Optional[bool] = ..., link_id: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class ListTeacherClassesRequest(_message.Message):
    __slots__ = ("zone_id", "org_id", "teacher_user_id")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    TEACHER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    org_id: str
    teacher_user_id: str
    def __init__(self, zone_id: _Optional[int] = ..., org_id: _Optional[str] = ..., teacher_user_id: _Optional[str] = ...) -> None: ...

class TeacherClassList(_message.Message):
    __slots__ = ("class_ids",)
    CLASS_IDS_FIELD_NUMBER: _ClassVar[int]
    class_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, class_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListClassStudentsRequest(_message.Message):
    __slots__ = ("zone_id", "org_id", "class_id")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    CLASS_ID_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    org_id: str
    class_id: str
    def __init__(self, zone_id: _Optional[int] = ..., org_id: _Optional[str] = ..., class_id: _Optional[str] = ...) -> None: ...

class ClassStudent(_message.Message):
    __slots__ = ("student_id", "user_id", "name")
    STUDENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    student_id: str
    user_id: str
    name: str
    def __init__(self, student_id: _Optional[str] = ..., user_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ClassStudentList(_message.Message):
    __slots__ = ("students",)
    STUDENTS_FIELD_NUMBER: _ClassVar[int]
    students: _containers.RepeatedCompositeFieldContainer[ClassStudent]
    def __init__(self, students: _Optional[_Iterable[_Union[ClassStudent, _Mapping]]] = ...) -> None: ...
