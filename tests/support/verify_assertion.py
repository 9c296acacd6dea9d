"""Verifies identity assertions with PyJWT and cryptography, a library this
project did not write (tests/assertion.test.mjs runs it in the venv of
scripts/setup.sh).

Reads a JSON list of cases on stdin, each {"token", "issuer", "audience"} and
either "jwks" (a JWK set) or "jwks_url" (fetched by PyJWKClient, as the
README's Python example does); "leeway" (seconds, negative to check the
token as if that much later) is optional. Prints a JSON list: {"ok": true,
"header", "claims"} or {"ok": false, "error": the exception's class name}.
"""

import json
import sys

import jwt

REQUIRED = ["iss", "aud", "sub", "sid", "iat", "exp", "auth_time", "roles"]


def key_for(case, token):
    if "jwks_url" in case:
        return jwt.PyJWKClient(case["jwks_url"], cache_keys=True).get_signing_key_from_jwt(token).key
    kid = jwt.get_unverified_header(token).get("kid")
    for key in jwt.PyJWKSet.from_dict(case["jwks"]).keys:
        if key.key_id == kid:
            return key.key
    raise jwt.exceptions.PyJWKError("no key with this kid")


def verify(case):
    token = case["token"]
    try:
        claims = jwt.decode(
            token,
            key_for(case, token),
            algorithms=["ES256"],
            issuer=case["issuer"],
            audience=case["audience"],
            leeway=case.get("leeway", 0),
            options={"require": REQUIRED},
        )
        return {"ok": True, "header": jwt.get_unverified_header(token), "claims": claims}
    except Exception as e:  # every refusal is an answer here
        return {"ok": False, "error": type(e).__name__}


if __name__ == "__main__":
    print(json.dumps([verify(c) for c in json.load(sys.stdin)]))
