"""The published Python client (`aura-uploader` on PyPI) against the dev server.

Run by `tests/python_client.rs` with the venv's Python. Reads the server's
URL and the demo credentials from the environment, calls the client's
public methods, checks each answer and prints one JSON line of what it saw
for the Rust side to check against the server's records. Exits non-zero on
the first mismatch.
"""

import json
import os
import sys
from importlib.metadata import version

from aura_uploader.client import (
    AuraClientOptions,
    AuraUploaderClient,
    SubmitRequest,
    TokenExchangeRequest,
    WithdrawRequest,
)
from aura_uploader.exceptions import AuraApiException

UPLOAD_ID = "py-client-0001"


def options(**overrides):
    values = dict(
        base_url=os.environ["AURA_BASE_URL"],
        app_id=os.environ["AURA_APP_ID"],
        app_secret=os.environ["AURA_APP_SECRET"],
        api_key=os.environ["AURA_API_KEY"],
        token_ttl=600,
        timeout=20,
    )
    values.update(overrides)
    return AuraClientOptions(**values)


def check(condition, what):
    if not condition:
        print(f"check failed: {what}", file=sys.stderr)
        sys.exit(1)


def expect_error(call, status, what):
    try:
        call()
    except AuraApiException as error:
        check(error.status_code == status, f"{what}: status {error.status_code}, wanted {status}")
        return json.loads(error.response_content)
    check(False, f"{what}: no error raised")


def main():
    seen = {"client_version": version("aura-uploader")}
    with AuraUploaderClient(options()) as client:
        token = client.exchange_token()
        check(token.token.startswith("aubt_"), "exchange_token gives an aubt_ token")
        check(token.expires_at is not None, "expires_at parses as an ISO 8601 time")
        check(
            sorted(token.scopes or []) == ["integration:read", "upload:init", "upload:manage"],
            f"default scopes granted, got {token.scopes}",
        )
        seen["token_prefix"] = token.token[:5]
        seen["expires_at"] = token.expires_at.isoformat()

        narrow = client.exchange_token(TokenExchangeRequest(ttl=60, scopes=["integration:read"]))
        check(narrow.scopes == ["integration:read"], f"narrow scopes, got {narrow.scopes}")

        submitted = client.submit(SubmitRequest(upload_id=UPLOAD_ID, metadata={"source": "python"}))
        check(submitted.success is True, "submit succeeds")
        check(submitted.upload_id == UPLOAD_ID, "submit echoes the upload id")
        check(submitted.status == "submitted", f"submit status, got {submitted.status}")
        seen["submit"] = submitted.status

        withdrawn = client.withdraw(WithdrawRequest(upload_id=UPLOAD_ID, reason="test withdrawal"))
        check(withdrawn.success is True, "withdraw succeeds")
        check(withdrawn.upload_id == UPLOAD_ID, "withdraw echoes the upload id")
        check(withdrawn.status == "withdrawn", f"withdraw status, got {withdrawn.status}")
        seen["withdraw"] = withdrawn.status

        body = expect_error(
            lambda: client.submit(SubmitRequest(upload_id="../etc")), 422, "submit with a bad id"
        )
        check("upload_id" in body.get("errors", {}), f"422 names upload_id: {body}")

        body = expect_error(
            lambda: client.get_viewer_link("no-such-transfer"), 404, "viewer link of nothing"
        )
        check("message" in body, f"404 has a message: {body}")

    with AuraUploaderClient(options(app_secret="not-the-secret")) as wrong:
        body = expect_error(wrong.exchange_token, 401, "exchange with a wrong secret")
        check(body["error"]["code"] == "signature_mismatch", f"401 code: {body}")

    print(json.dumps(seen))


if __name__ == "__main__":
    main()
