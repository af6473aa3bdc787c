"""OpenAPI entries (`megacity.http_app.problems`) of the errors that helpers shared by several
exam features raise; each feature's `schemas.py` documents its own."""
from __future__ import annotations

from megacity.http_app import problem_response

# megacity.auth.org_scope.acting_org: an org-bound role whose token names no org.
ORG_BOUND = problem_response(403, "org.membership_required", "This token is not bound to an org")
# parent_links.ensure_parent_link (tenant's CheckParentLink).
PARENT_LINK = {**problem_response(403, "parent_link.required", "No approved link to this student"),
               **problem_response(503, "dependency.tenant_unavailable", "Tenant did not answer the link check")}
# CatSession calls (attempts, scoring).
CAT_DOWN = problem_response(503, "dependency.cat_unavailable", "The CAT engine did not answer; retry",
                            "cat did not answer (your response is stored)")
# scoring.finalize: responses kept arriving while the attempt was being finished.
ATTEMPT_BUSY = problem_response(409, "attempt.busy", "The attempt is changing under this request; retry")
