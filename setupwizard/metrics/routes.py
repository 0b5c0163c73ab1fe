"""``GET /metrics``: this process's metrics in Prometheus text format, for any login or token (``read``
scope is enough)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from setupwizard.auth.deps import CurrentUser
from setupwizard.core.api_docs import error_responses

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **error_responses(401)},
)
async def metrics(_user: CurrentUser) -> Response:
    """Counters, gauges and histograms of this worker (per process: scrape every worker)."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
