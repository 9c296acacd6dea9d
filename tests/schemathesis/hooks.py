"""Schemathesis hooks for the edge-session Worker (issue 13).

Loaded by tests/schemathesis/run.mjs through SCHEMATHESIS_HOOKS, with the
Worker's base URL and admin key in EDGE_SESSION_URL and EDGE_SESSION_ADMIN_KEY.

Credentials (contract sections 4 and 5):
- the admin API (`/auth/admin/...`) gets `Authorization: Bearer ADMIN_KEY`;
- the self-service API (`/auth/session...`, `/auth/sessions...`) gets a fresh
  session token for every case, created through the admin API for a user of
  its own, with a sibling session of the same user, so that a case that logs
  out or revokes every session never takes the credential of another case,
  and listings and `DELETE /auth/sessions?others=true` have something to act on.

Schemathesis still sends its own negative variants (no credential, a bad one)
for the `ignored_auth` check: those are expected to answer 401.
"""

import itertools
import json
import os
import urllib.request

import schemathesis

BASE = os.environ["EDGE_SESSION_URL"]
ADMIN_KEY = os.environ["EDGE_SESSION_ADMIN_KEY"]
_users = itertools.count()
# token of a fresh session -> public id of its sibling (same user)
_siblings = {}
_steered = itertools.count()


def _admin_create(user_id, label):
    request = urllib.request.Request(
        f"{BASE}/auth/admin/sessions",
        data=json.dumps({"userId": user_id, "label": label}).encode(),
        headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 201:
            raise RuntimeError(f"creating a session for the hook answered {response.status}")
        created = json.load(response)
        return created["token"], created["session"]["id"]


def _bearer(case, token):
    case.headers = case.headers or {}
    case.headers["Authorization"] = f"Bearer {token}"


@schemathesis.auth(refresh_interval=None).apply_to(path_regex=r"^/auth/admin/")
class AdminKey:
    def get(self, case, ctx):
        return ADMIN_KEY

    def set(self, case, data, ctx):
        _bearer(case, data)


# refresh_interval=None: `get` runs for every case, so each case has a token
# no earlier case revoked.
@schemathesis.auth(refresh_interval=None).apply_to(path_regex=r"^/auth/sessions?(/|$)")
class FreshSession:
    def get(self, case, ctx):
        user = f"schemathesis-{next(_users)}"
        _, sibling = _admin_create(user, "sibling")
        token, _ = _admin_create(user, "current")
        _siblings[token] = sibling
        return token

    def set(self, case, data, ctx):
        _bearer(case, data)


@schemathesis.hook
def map_case(ctx, case):
    """Gives `DELETE /auth/sessions/{id}` a session it may revoke, in every other positive case.

    A generated id is almost never a session of the caller's user, so that
    operation would only ever answer 404. In half of its positive cases the id
    becomes the one of the caller's sibling session (its own user's), which
    must answer 204; negative cases and the other half keep what was generated.
    """
    operation = ctx.operation
    if operation is None or operation.method.upper() != "DELETE" or operation.path != "/auth/sessions/{id}":
        return case
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    auth = (case.headers or {}).get("Authorization", "")
    sibling = _siblings.get(auth.removeprefix("Bearer "))
    if sibling is not None and next(_steered) % 2 == 0:
        case.path_parameters = {**(case.path_parameters or {}), "id": sibling}
    return case


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    """Drops one documented false positive of `positive_data_acceptance`, and nothing else.

    Contract section 5: `60 <= idleTtl <= absoluteTtl <= 31536000`. JSON Schema
    (openapi.json's NewSession) bounds each TTL alone but cannot say that one
    member must not exceed another, so schemathesis generates schema-valid
    bodies with idleTtl > absoluteTtl, which the Worker rightly answers 400
    naming absoluteTtl (openapi.json's NewSession description says so). Only
    that answer to exactly such a body is dropped; the summary counts it as
    "dropped by filter_failure".
    """
    if "positive_data_acceptance" not in failure.checks or response.status_code != 400:
        return True
    body = case.body if isinstance(case.body, dict) else {}
    idle, absolute = body.get("idleTtl"), body.get("absoluteTtl")
    try:
        problem = response.json()
    except ValueError:
        return True
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (idle, absolute))
    if numbers and idle > absolute and problem.get("field") == "absoluteTtl" and "idleTtl" in problem.get("detail", ""):
        return False
    return True
