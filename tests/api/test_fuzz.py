"""The OpenAPI schema fuzzed with Schemathesis (its Hypothesis strategies per operation) against
the real uvicorn server: no 5xx with no token, a viewer's or an operator's; every request without
a token refused (401), every write by a viewer refused (403)."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")]
EXAMPLES = 12


def test_fuzzed_requests_never_fail_the_server(server, fleet) -> None:
    spec = httpx.get(f"{server}/openapi.json", headers={"Authorization": f"Bearer {fleet.viewer}"}, timeout=30).json()
    operations = [result.ok() for result in schemathesis.openapi.from_dict(spec).get_all_operations()]
    assert {"POST /api/jobs", "PATCH /api/jobs/{job_id}", "POST /api/outages"} <= {o.label for o in operations}
    tried: dict[str, int] = {}
    with httpx.Client(base_url=server, timeout=30) as client:
        for operation in operations:
            _fuzz(client, server, fleet, operation, tried)()
    assert len(tried) == len(operations)


def _fuzz(client: httpx.Client, server: str, fleet, operation, tried: dict[str, int]):
    write = operation.method.upper() != "GET"

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def check(case) -> None:
        kwargs = case.as_transport_kwargs(base_url=server)
        for token, role in ((None, None), (fleet.viewer, "viewer"), (fleet.operator, "operator")):
            headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "authorization"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            response = client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                                      headers=headers, content=_content(kwargs))
            where = (operation.label, kwargs["url"], role, response.status_code, response.text[:300])
            if operation.path == "/healthz":  # 503 is its answer when the last tick is overdue
                assert response.status_code in (200, 503), where
                continue
            assert response.status_code < 500, where
            if token is None:
                assert response.status_code == 401, where
            elif write and role == "viewer":
                assert response.status_code == 403, where
        tried[operation.label] = tried.get(operation.label, 0) + 1

    return check


def _content(kwargs: dict) -> bytes | None:
    import json

    if kwargs.get("json") is not None:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    return data.encode() if isinstance(data, str) else data
