"""Typed errors: one JSON shape, the engine's errors translated at the edge, no input echoed back."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from setupwizard.core.errors import (
    UNREACHABLE_MESSAGE,
    AppError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    install_error_handlers,
    translate_provisioning_error,
)
from setupwizard.provisioning import errors as prov

CANARY = "canary-secret-9d1e"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (prov.AuthenticationFailedError("denied"), 502, "auth_failed"),
        (prov.HostKeyChangedError("changed"), 409, "host_key_changed"),
        (prov.UnsupportedOSError("centos"), 422, "unsupported_os"),
        (prov.SudoRefusedError("no sudo"), 502, "sudo_refused"),
        (prov.LockoutPreventedError("ssh"), 502, "lockout_prevented"),
        (prov.CommandFailedError("apt failed", 100, []), 502, "command_failed"),
        (prov.ProvisioningError("other"), 502, "provisioning_error"),
    ],
)
def test_engine_errors_map_to_status_and_keep_their_code(
    error: prov.ProvisioningError, status: int, code: str
) -> None:
    translated = translate_provisioning_error(error)
    assert (translated.status_code, translated.code, translated.field) == (status, code, None)
    assert translated.message == str(error)


@pytest.mark.parametrize(
    "error",
    [
        prov.ConnectTimeoutError("连接 10.0.0.5:22 超时"),
        prov.HostUnreachableError("无法到达 10.0.0.5"),
        prov.ConnectionRefusedByHostError("10.0.0.5:22 拒绝连接"),
    ],
)
def test_refused_filtered_and_unreachable_give_one_answer(error: prov.ProvisioningError) -> None:
    translated = translate_provisioning_error(error)
    assert translated.to_dict() == {"detail": UNREACHABLE_MESSAGE, "code": "unreachable", "field": None}
    assert translated.status_code == 502


def test_invalid_input_becomes_422_naming_the_field() -> None:
    translated = translate_provisioning_error(prov.InvalidInputError("port", "must be 1-65535"))
    assert (translated.status_code, translated.code, translated.field) == (422, "invalid_input", "port")
    assert translated.message == "must be 1-65535"


class Body(BaseModel):
    port: int = Field(ge=1, le=65535)
    password: str


def tiny_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/conflict")
    async def conflict() -> None:
        raise ConflictError("busy", code="host_busy")

    @app.get("/missing")
    async def missing() -> None:
        raise NotFoundError()

    @app.get("/engine")
    async def engine() -> None:
        raise prov.InvalidInputError("host", "not a host name")

    @app.get("/invalid")
    async def invalid() -> None:
        raise InvalidRequestError("username", "too long")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(CANARY)

    @app.post("/body")
    async def body(_: Body) -> None:
        return None

    return app


async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=tiny_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/conflict", 409, {"detail": "busy", "code": "host_busy", "field": None}),
        ("/missing", 404, {"detail": "Not found", "code": "not_found", "field": None}),
        ("/engine", 422, {"detail": "not a host name", "code": "invalid_input", "field": "host"}),
        ("/invalid", 422, {"detail": "too long", "code": "invalid_input", "field": "username"}),
        ("/no-such-route", 404, {"detail": "Not Found", "code": "not_found", "field": None}),
    ],
)
async def test_every_error_has_one_json_shape(path: str, status: int, body: dict[str, object]) -> None:
    response = await call("GET", path)
    assert response.status_code == status
    assert response.json() == body


async def test_validation_error_names_the_field_and_never_echoes_the_input() -> None:
    response = await call("POST", "/body", json={"port": 70000, "password": CANARY})
    assert response.status_code == 422
    assert response.json()["field"] == "port"
    assert response.json()["code"] == "invalid_input"
    response = await call("POST", "/body", json={"port": CANARY, "password": CANARY})
    assert response.status_code == 422
    assert CANARY not in response.text


def test_app_error_to_dict() -> None:
    assert AppError(418, "teapot", "short and stout", "spout").to_dict() == {
        "detail": "short and stout",
        "code": "teapot",
        "field": "spout",
    }


async def test_unexpected_error_is_a_json_500_without_details() -> None:
    response = await call("GET", "/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error", "code": "internal_error", "field": None}
    assert CANARY not in response.text


async def test_malformed_json_is_422_without_a_field() -> None:
    response = await call("POST", "/body", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json() == {
        "detail": "The request body is not valid JSON",
        "code": "invalid_input",
        "field": None,
    }
