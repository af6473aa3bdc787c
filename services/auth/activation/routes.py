"""HTTP: `POST /api/v1/auth/activate` — a roster-provisioned account's first password, with its
one-time activation code (the gRPC side of provisioning is `grpc_api.py`)."""
from __future__ import annotations

from fastapi import APIRouter, status

from megacity.http_app import ZoneDep, problems
from megacity.runtime import ResourcesDep
from services.auth.activation import service
from services.auth.activation.schemas import ActivatedOut, ActivateIn
from services.auth.api_errors import UNKNOWN_HOST
from services.auth.client_info import ClientDep
from services.auth.state import AuthStateDep

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/activate", status_code=status.HTTP_201_CREATED, response_model=ActivatedOut,
             summary="Activate a school-provisioned account with its one-time code",
             description="For accounts a school created from its roster: the activation sheet gives each person a "
                         "login id (their email, or a generated `…@roster.invalid` id) and a one-time code. This "
                         "sets the password (same policy as register) and uses the code up; then log in with "
                         "`POST /api/v1/auth/login` (`email` = the login id). An unknown login id and a wrong code "
                         "get the same 400 and count as failed attempts: 5 a minute per account or address block "
                         "it for 15 minutes (429 with Retry-After).",
             responses=problems((400, service.INVALID[0], "Unknown login id or wrong code"),
                                (410, "auth.activation_used", "The code was used already"),
                                (410, "auth.activation_expired", "The code expired; the school can issue a new one"),
                                (422, "auth.password_weak", "The password does not meet the policy"),
                                (429, "auth.too_many_attempts", "Too many failed attempts (see Retry-After)"),
                                (503, "dependency.redis_unavailable", "Redis (attempt limits) is unavailable"),
                                UNKNOWN_HOST))
async def activate(body: ActivateIn, zone: ZoneDep, client: ClientDep, res: ResourcesDep,
                   st: AuthStateDep) -> ActivatedOut:
    done = await service.activate(res, st, zone, client, login_id=body.login_id, code=body.code,
                                  new_password=body.new_password)
    return ActivatedOut(user_id=done.user_id, login_id=done.login_id, login_url="/api/v1/auth/login")
