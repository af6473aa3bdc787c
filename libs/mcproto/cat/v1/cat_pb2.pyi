from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ItemModel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ITEM_MODEL_UNSPECIFIED: _ClassVar[ItemModel]
    ITEM_MODEL_LOGISTIC: _ClassVar[ItemModel]
    ITEM_MODEL_GRM: _ClassVar[ItemModel]
    ITEM_MODEL_GPCM: _ClassVar[ItemModel]

class Estimator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESTIMATOR_UNSPECIFIED: _ClassVar[Estimator]
    ESTIMATOR_EAP: _ClassVar[Estimator]
    ESTIMATOR_MAP: _ClassVar[Estimator]
    ESTIMATOR_MLE: _ClassVar[Estimator]
    ESTIMATOR_WLE: _ClassVar[Estimator]

class Prior(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIOR_UNSPECIFIED: _ClassVar[Prior]
    PRIOR_NORMAL: _ClassVar[Prior]
    PRIOR_UNIFORM: _ClassVar[Prior]

class ConstantPatternRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSTANT_PATTERN_UNSPECIFIED: _ClassVar[ConstantPatternRule]
    CONSTANT_PATTERN_EAP: _ClassVar[ConstantPatternRule]
    CONSTANT_PATTERN_BOUND: _ClassVar[ConstantPatternRule]

class SelectionMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SELECTION_UNSPECIFIED: _ClassVar[SelectionMethod]
    SELECTION_MAX_INFO: _ClassVar[SelectionMethod]
    SELECTION_RANDOMESQUE: _ClassVar[SelectionMethod]
    SELECTION_KL: _ClassVar[SelectionMethod]
    SELECTION_PROGRESSIVE: _ClassVar[SelectionMethod]

class ExposureMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPOSURE_UNSPECIFIED: _ClassVar[ExposureMethod]
    EXPOSURE_NONE: _ClassVar[ExposureMethod]
    EXPOSURE_SYMPSON_HETTER: _ClassVar[ExposureMethod]
    EXPOSURE_R_MAX: _ClassVar[ExposureMethod]

class Classification(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLASSIFICATION_UNSPECIFIED: _ClassVar[Classification]
    CLASSIFICATION_NONE: _ClassVar[Classification]
    CLASSIFICATION_CI: _ClassVar[Classification]
    CLASSIFICATION_SPRT: _ClassVar[Classification]
ITEM_MODEL_UNSPECIFIED: ItemModel
ITEM_MODEL_LOGISTIC: ItemModel
ITEM_MODEL_GRM: ItemModel
ITEM_MODEL_GPCM: ItemModel
ESTIMATOR_UNSPECIFIED: Estimator
ESTIMATOR_EAP: Estimator
ESTIMATOR_MAP: Estimator
ESTIMATOR_MLE: Estimator
ESTIMATOR_WLE: Estimator
PRIOR_UNSPECIFIED: Prior
PRIOR_NORMAL: Prior
PRIOR_UNIFORM: Prior
CONSTANT_PATTERN_UNSPECIFIED: ConstantPatternRule
CONSTANT_PATTERN_EAP: ConstantPatternRule
CONSTANT_PATTERN_BOUND: ConstantPatternRule
SELECTION_UNSPECIFIED: SelectionMethod
SELECTION_MAX_INFO: SelectionMethod
SELECTION_RANDOMESQUE: SelectionMethod
SELECTION_KL: SelectionMethod
SELECTION_PROGRESSIVE: SelectionMethod
EXPOSURE_UNSPECIFIED: ExposureMethod
EXPOSURE_NONE: ExposureMethod
EXPOSURE_SYMPSON_HETTER: ExposureMethod
EXPOSURE_R_MAX: ExposureMethod
CLASSIFICATION_UNSPECIFIED: Classification
CLASSIFICATION_NONE: Classification
CLASSIFICATION_CI: Classification
CLASSIFICATION_SPRT: Classification

class Tenant(_message.Message):
    __slots__ = ("zone_id", "org_id")
    ZONE_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    zone_id: int
    org_id: str
    def __init__(self, zone_id: _Optional[int] = ..., org_id: _Optional[str] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("item_id", "model", "a", "b", "c", "d", "thresholds", "content_area", "sh_k")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    C_FIELD_NUMBER: _ClassVar[int]
    D_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_AREA_FIELD_NUMBER: _ClassVar[int]
    SH_K_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    model: ItemModel
    a: float
    b: float
    c: float
    d: float
    thresholds: _containers.RepeatedScalarFieldContainer[float]
    content_area: str
    sh_k: float
    def __init__(self, item_id: _Optional[str] = ..., model: _Optional[_Union[ItemModel, str]] = ..., a: _Optional[float] = ..., b: _Optional[float] = ..., c: _Optional[float] = ..., d: _Optional[float] = ..., thresholds: _Optional[_Iterable[float]] = ..., content_area: _Optional[str] = ..., sh_k: _Optional[float] = ...) -> None: ...

class EnemySet(_message.Message):
    __slots__ = ("item_ids",)
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class LoadBankRequest(_message.Message):
    __slots__ = ("tenant", "item_bank_id", "item_bank_version", "items", "enemy_sets", "scaling_constant")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_VERSION_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ENEMY_SETS_FIELD_NUMBER: _ClassVar[int]
    SCALING_CONSTANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    item_bank_id: str
    item_bank_version: int
    items: _containers.RepeatedCompositeFieldContainer[Item]
    enemy_sets: _containers.RepeatedCompositeFieldContainer[EnemySet]
    scaling_constant: float
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., item_bank_id: _Optional[str] = ..., item_bank_version: _Optional[int] = ..., items: _Optional[_Iterable[_Union[Item, _Mapping]]] = ..., enemy_sets: _Optional[_Iterable[_Union[EnemySet, _Mapping]]] = ..., scaling_constant: _Optional[float] = ...) -> None: ...

class GetBankRequest(_message.Message):
    __slots__ = ("tenant", "item_bank_id", "item_bank_version")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_VERSION_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    item_bank_id: str
    item_bank_version: int
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., item_bank_id: _Optional[str] = ..., item_bank_version: _Optional[int] = ...) -> None: ...

class BankInfo(_message.Message):
    __slots__ = ("item_bank_id", "item_bank_version", "item_count", "items_per_area", "already_loaded")
    class ItemsPerAreaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ITEM_BANK_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_VERSION_FIELD_NUMBER: _ClassVar[int]
    ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_PER_AREA_FIELD_NUMBER: _ClassVar[int]
    ALREADY_LOADED_FIELD_NUMBER: _ClassVar[int]
    item_bank_id: str
    item_bank_version: int
    item_count: int
    items_per_area: _containers.ScalarMap[str, int]
    already_loaded: bool
    def __init__(self, item_bank_id: _Optional[str] = ..., item_bank_version: _Optional[int] = ..., item_count: _Optional[int] = ..., items_per_area: _Optional[_Mapping[str, int]] = ..., already_loaded: _Optional[bool] = ...) -> None: ...

class EstimatorSettings(_message.Message):
    __slots__ = ("method", "prior", "prior_mean", "prior_sd", "prior_min", "prior_max", "grid_min", "grid_max", "grid_points", "theta_min", "theta_max", "constant_pattern")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PRIOR_FIELD_NUMBER: _ClassVar[int]
    PRIOR_MEAN_FIELD_NUMBER: _ClassVar[int]
    PRIOR_SD_FIELD_NUMBER: _ClassVar[int]
    PRIOR_MIN_FIELD_NUMBER: _ClassVar[int]
    PRIOR_MAX_FIELD_NUMBER: _ClassVar[int]
    GRID_MIN_FIELD_NUMBER: _ClassVar[int]
    GRID_MAX_FIELD_NUMBER: _ClassVar[int]
    GRID_POINTS_FIELD_NUMBER: _ClassVar[int]
    THETA_MIN_FIELD_NUMBER: _ClassVar[int]
    THETA_MAX_FIELD_NUMBER: _ClassVar[int]
    CONSTANT_PATTERN_FIELD_NUMBER: _ClassVar[int]
    method: Estimator
    prior: Prior
    prior_mean: float
    prior_sd: float
    prior_min: float
    prior_max: float
    grid_min: float
    grid_max: float
    grid_points: int
    theta_min: float
    theta_max: float
    constant_pattern: ConstantPatternRule
    def __init__(self, method: _Optional[_Union[Estimator, str]] = ..., prior: _Optional[_Union[Prior, str]] = ..., prior_mean: _Optional[float] = ..., prior_sd: _Optional[float] = ..., prior_min: _Optional[float] = ..., prior_max: _Optional[float] = ..., grid_min: _Optional[float] = ..., grid_max: _Optional[float] = ..., grid_points: _Optional[int] = ..., theta_min: _Optional[float] = ..., theta_max: _Optional[float] = ..., constant_pattern: _Optional[_Union[ConstantPatternRule, str]] = ...) -> None: ...

class SelectionSettings(_message.Message):
    __slots__ = ("method", "randomesque_k", "kl_delta_z")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    RANDOMESQUE_K_FIELD_NUMBER: _ClassVar[int]
    KL_DELTA_Z_FIELD_NUMBER: _ClassVar[int]
    method: SelectionMethod
    randomesque_k: int
    kl_delta_z: float
    def __init__(self, method: _Optional[_Union[SelectionMethod, str]] = ..., randomesque_k: _Optional[int] = ..., kl_delta_z: _Optional[float] = ...) -> None: ...

class ExposureSettings(_message.Message):
    __slots__ = ("method", "r_max", "candidates")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    R_MAX_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    method: ExposureMethod
    r_max: float
    candidates: int
    def __init__(self, method: _Optional[_Union[ExposureMethod, str]] = ..., r_max: _Optional[float] = ..., candidates: _Optional[int] = ...) -> None: ...

class ContentSettings(_message.Message):
    __slots__ = ("blueprint",)
    class BlueprintEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    BLUEPRINT_FIELD_NUMBER: _ClassVar[int]
    blueprint: _containers.ScalarMap[str, float]
    def __init__(self, blueprint: _Optional[_Mapping[str, float]] = ...) -> None: ...

class StoppingSettings(_message.Message):
    __slots__ = ("min_items", "max_items", "se_threshold", "classification", "cut_score", "ci_z", "sprt_delta", "sprt_alpha", "sprt_beta")
    MIN_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    SE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    CUT_SCORE_FIELD_NUMBER: _ClassVar[int]
    CI_Z_FIELD_NUMBER: _ClassVar[int]
    SPRT_DELTA_FIELD_NUMBER: _ClassVar[int]
    SPRT_ALPHA_FIELD_NUMBER: _ClassVar[int]
    SPRT_BETA_FIELD_NUMBER: _ClassVar[int]
    min_items: int
    max_items: int
    se_threshold: float
    classification: Classification
    cut_score: float
    ci_z: float
    sprt_delta: float
    sprt_alpha: float
    sprt_beta: float
    def __init__(self, min_items: _Optional[int] = ..., max_items: _Optional[int] = ..., se_threshold: _Optional[float] = ..., classification: _Optional[_Union[Classification, str]] = ..., cut_score: _Optional[float] = ..., ci_z: _Optional[float] = ..., sprt_delta: _Optional[float] = ..., sprt_alpha: _Optional[float] = ..., sprt_beta: _Optional[float] = ...) -> None: ...

class CatSettings(_message.Message):
    __slots__ = ("estimator", "selection", "exposure", "content", "stopping", "initial_theta")
    ESTIMATOR_FIELD_NUMBER: _ClassVar[int]
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    STOPPING_FIELD_NUMBER: _ClassVar[int]
    INITIAL_THETA_FIELD_NUMBER: _ClassVar[int]
    estimator: EstimatorSettings
    selection: SelectionSettings
    exposure: ExposureSettings
    content: ContentSettings
    stopping: StoppingSettings
    initial_theta: float
    def __init__(self, estimator: _Optional[_Union[EstimatorSettings, _Mapping]] = ..., selection: _Optional[_Union[SelectionSettings, _Mapping]] = ..., exposure: _Optional[_Union[ExposureSettings, _Mapping]] = ..., content: _Optional[_Union[ContentSettings, _Mapping]] = ..., stopping: _Optional[_Union[StoppingSettings, _Mapping]] = ..., initial_theta: _Optional[float] = ...) -> None: ...

class StartSessionRequest(_message.Message):
    __slots__ = ("tenant", "session_id", "item_bank_id", "item_bank_version", "settings", "seed", "prior_responses")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_VERSION_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    PRIOR_RESPONSES_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    session_id: str
    item_bank_id: str
    item_bank_version: int
    settings: CatSettings
    seed: int
    prior_responses: _containers.RepeatedCompositeFieldContainer[Response]
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., session_id: _Optional[str] = ..., item_bank_id: _Optional[str] = ..., item_bank_version: _Optional[int] = ..., settings: _Optional[_Union[CatSettings, _Mapping]] = ..., seed: _Optional[int] = ..., prior_responses: _Optional[_Iterable[_Union[Response, _Mapping]]] = ...) -> None: ...

class Response(_message.Message):
    __slots__ = ("item_id", "score")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    score: int
    def __init__(self, item_id: _Optional[str] = ..., score: _Optional[int] = ...) -> None: ...

class NextItemRequest(_message.Message):
    __slots__ = ("tenant", "session_id", "count")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    session_id: str
    count: int
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., session_id: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class NextItemResponse(_message.Message):
    __slots__ = ("item_id", "finished", "state", "item_ids")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    finished: bool
    state: SessionState
    item_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, item_id: _Optional[str] = ..., finished: _Optional[bool] = ..., state: _Optional[_Union[SessionState, _Mapping]] = ..., item_ids: _Optional[_Iterable[str]] = ...) -> None: ...

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
    __slots__ = ("session_id", "theta", "se", "administered_item_ids", "responses", "finished", "stop_reason", "item_bank_id", "item_bank_version", "pending_item_ids", "content_counts", "classification", "estimator", "seed", "settings")
    class ContentCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    THETA_FIELD_NUMBER: _ClassVar[int]
    SE_FIELD_NUMBER: _ClassVar[int]
    ADMINISTERED_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PENDING_ITEM_IDS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_COUNTS_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    ESTIMATOR_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    theta: float
    se: float
    administered_item_ids: _containers.RepeatedScalarFieldContainer[str]
    responses: _containers.RepeatedCompositeFieldContainer[Response]
    finished: bool
    stop_reason: str
    item_bank_id: str
    item_bank_version: int
    pending_item_ids: _containers.RepeatedScalarFieldContainer[str]
    content_counts: _containers.ScalarMap[str, int]
    classification: str
    estimator: str
    seed: int
    settings: CatSettings
    def __init__(self, session_id: _Optional[str] = ..., theta: _Optional[float] = ..., se: _Optional[float] = ..., administered_item_ids: _Optional[_Iterable[str]] = ..., responses: _Optional[_Iterable[_Union[Response, _Mapping]]] = ..., finished: _Optional[bool] = ..., stop_reason: _Optional[str] = ..., item_bank_id: _Optional[str] = ..., item_bank_version: _Optional[int] = ..., pending_item_ids: _Optional[_Iterable[str]] = ..., content_counts: _Optional[_Mapping[str, int]] = ..., classification: _Optional[str] = ..., estimator: _Optional[str] = ..., seed: _Optional[int] = ..., settings: _Optional[_Union[CatSettings, _Mapping]] = ...) -> None: ...

class GetExposureRequest(_message.Message):
    __slots__ = ("tenant", "item_bank_id", "top")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ITEM_BANK_ID_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    item_bank_id: str
    top: int
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., item_bank_id: _Optional[str] = ..., top: _Optional[int] = ...) -> None: ...

class ItemExposure(_message.Message):
    __slots__ = ("item_id", "given", "rate")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    GIVEN_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    given: int
    rate: float
    def __init__(self, item_id: _Optional[str] = ..., given: _Optional[int] = ..., rate: _Optional[float] = ...) -> None: ...

class ExposureReport(_message.Message):
    __slots__ = ("item_bank_id", "sessions", "items")
    ITEM_BANK_ID_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    item_bank_id: str
    sessions: int
    items: _containers.RepeatedCompositeFieldContainer[ItemExposure]
    def __init__(self, item_bank_id: _Optional[str] = ..., sessions: _Optional[int] = ..., items: _Optional[_Iterable[_Union[ItemExposure, _Mapping]]] = ...) -> None: ...
