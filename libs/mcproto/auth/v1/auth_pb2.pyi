from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProvisionOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROVISION_OUTCOME_UNSPECIFIED: _ClassVar[ProvisionOutcome]
    PROVISION_OUTCOME_CREATED: _ClassVar[ProvisionOutcome]
    PROVISION_OUTCOME_EXISTING: _ClassVar[ProvisionOutcome]
    PROVISION_OUTCOME_LINKED: _ClassVar[ProvisionOutcome]
PROVISION_OUTCOME_UNSPECIFIED: ProvisionOutcome
PROVISION_OUTCOME_CREATED: ProvisionOutcome
PROVISION_OUTCOME_EXISTING: ProvisionOutcome
PROVISION_OUTCOME_LINKED: ProvisionOutcome

class IntrospectTokenRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class IntrospectTokenResponse(_message.Message):
    __slots__ = ("active", "sub", "zone_id", "org_id", "role", "permissions", "jti", "exp", "sid")
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    SUB_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    JTI_FIELD_NUMBER: _ClassVar[int]
    EXP_FIELD_NUMBER: _ClassVar[int]
    SID_FIELD_NUMBER: _ClassVar[int]
    active: bool
    sub: str
    zone_id: int
    org_id: str
    role: str
    permissions: _containers.RepeatedScalarFieldContainer[str]
    jti: str
    exp: int
    sid: str
    def __init__(self, active: _Optional[bool] = ..., sub: _Optional[str] = ..., zone_id: _Optional[int] = ..., org_id: _Optional[str] = ..., role: _Optional[str] = ..., permissions: _Optional[_Iterable[str]] = ..., jti: _Optional[str] = ..., exp: _Optional[int] = ..., sid: _Optional[str] = ...) -> None: ...

class LookupUsersRequest(_message.Message):
    __slots__ = ("zone_id", "emails", "user_ids")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    EMAILS_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    emails: _containers.RepeatedScalarFieldContainer[str]
    user_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, zone_id: _Optional[int] = ..., emails: _Optional[_Iterable[str]] = ..., user_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("id", "zone_id", "email", "display_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    zone_id: int
    email: str
    display_name: str
    def __init__(self, id: _Optional[str] = ..., zone_id: _Optional[int] = ..., email: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class UserList(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[User]
    def __init__(self, users: _Optional[_Iterable[_Union[User, _Mapping]]] = ...) -> None: ...

class ProvisionPerson(_message.Message):
    __slots__ = ("external_key", "display_name", "email", "reissue", "user_id", "previous_external_key")
    EXTERNAL_KEY_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    REISSUE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_EXTERNAL_KEY_FIELD_NUMBER: _ClassVar[int]
    external_key: str
    display_name: str
    email: str
    reissue: bool
    user_id: str
    previous_external_key: str
    def __init__(self, external_key: _Optional[str] = ..., display_name: _Optional[str] = ..., email: _Optional[str] = ..., reissue: _Optional[bool] = ..., user_id: _Optional[str] = ..., previous_external_key: _Optional[str] = ...) -> None: ...

class ProvisionAccountsRequest(_message.Message):
    __slots__ = ("zone_id", "org_id", "people", "requested_by")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    org_id: str
    people: _containers.RepeatedCompositeFieldContainer[ProvisionPerson]
    requested_by: str
    def __init__(self, zone_id: _Optional[int] = ..., org_id: _Optional[str] = ..., people: _Optional[_Iterable[_Union[ProvisionPerson, _Mapping]]] = ..., requested_by: _Optional[str] = ...) -> None: ...

class ProvisionedAccount(_message.Message):
    __slots__ = ("external_key", "user_id", "login_id", "outcome", "code_issued")
    EXTERNAL_KEY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LOGIN_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CODE_ISSUED_FIELD_NUMBER: _ClassVar[int]
    external_key: str
    user_id: str
    login_id: str
    outcome: ProvisionOutcome
    code_issued: bool
    def __init__(self, external_key: _Optional[str] = ..., user_id: _Optional[str] = ..., login_id: _Optional[str] = ..., outcome: _Optional[_Union[ProvisionOutcome, str]] = ..., code_issued: _Optional[bool] = ...) -> None: ...

class ProvisionAccountsResponse(_message.Message):
    __slots__ = ("accounts",)
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[ProvisionedAccount]
    def __init__(self, accounts: _Optional[_Iterable[_Union[ProvisionedAccount, _Mapping]]] = ...) -> None: ...

class TakeActivationCodesRequest(_message.Message):
    __slots__ = ("zone_id", "org_id", "user_ids", "requested_by")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    org_id: str
    user_ids: _containers.RepeatedScalarFieldContainer[str]
    requested_by: str
    def __init__(self, zone_id: _Optional[int] = ..., org_id: _Optional[str] = ..., user_ids: _Optional[_Iterable[str]] = ..., requested_by: _Optional[str] = ...) -> None: ...

class ActivationCode(_message.Message):
    __slots__ = ("user_id", "login_id", "code", "expires_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LOGIN_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    login_id: str
    code: str
    expires_at: int
    def __init__(self, user_id: _Optional[str] = ..., login_id: _Optional[str] = ..., code: _Optional[str] = ..., expires_at: _Optional[int] = ...) -> None: ...

class ActivationCodeList(_message.Message):
    __slots__ = ("codes",)
    CODES_FIELD_NUMBER: _ClassVar[int]
    codes: _containers.RepeatedCompositeFieldContainer[ActivationCode]
    def __init__(self, codes: _Optional[_Iterable[_Union[ActivationCode, _Mapping]]] = ...) -> None: ...
