"""TracesConfig leaves connection settings to the standard OTEL_EXPORTER_OTLP_* variables, and
export turns on when OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT is set (unless told otherwise)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import msgspec
import pytest

from sidecar.telemetry.config import TracesConfig
from tests.conftest import llm_event, make_settings, start_sidecar

from .sample_events import export_sample_run


async def test_http_endpoint_headers_compression_from_env(
    http_receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", http_receiver.endpoint + "/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=from-env")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "env-service")
    await export_sample_run(TracesConfig(enabled=True, schedule_delay_ms=20.0), http_receiver)
    headers = http_receiver.headers[0]
    assert headers["x-api-key"] == "from-env"
    assert headers["content-encoding"] == "gzip"
    resource = http_receiver.requests[0].resource_spans[0].resource
    assert {kv.key: kv.value.string_value for kv in resource.attributes}["service.name"] == (
        "env-service"
    )


async def test_config_values_win_over_env(
    http_receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")  # nothing there
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=from-env")
    config = TracesConfig(
        enabled=True,
        protocol="http/protobuf",
        endpoint=http_receiver.endpoint,
        headers={"x-api-key": "from-config"},
        schedule_delay_ms=20.0,
    )
    await export_sample_run(config, http_receiver)
    assert http_receiver.headers[0]["x-api-key"] == "from-config"


async def test_grpc_protocol_and_endpoint_from_env(
    grpc_receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", grpc_receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=t1")
    await export_sample_run(TracesConfig(enabled=True, schedule_delay_ms=20.0), grpc_receiver)
    assert grpc_receiver.headers[0]["x-tenant"] == "t1"


def test_protocol_resolution() -> None:
    config = TracesConfig()
    assert config.resolved_protocol({}) == "http/protobuf"
    assert config.resolved_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) == "grpc"
    assert (
        config.resolved_protocol(
            {
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
            }
        )
        == "http/protobuf"
    )
    with pytest.raises(ValueError, match="http/json"):
        config.resolved_protocol({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
    assert TracesConfig(protocol="grpc").resolved_protocol({}) == "grpc"


def test_semconv_opt_in() -> None:
    assert not TracesConfig().latest_experimental({})
    assert TracesConfig().latest_experimental(
        {"OTEL_SEMCONV_STABILITY_OPT_IN": "database, gen_ai_latest_experimental"}
    )
    assert not TracesConfig(semconv_latest_experimental=False).latest_experimental(
        {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental"}
    )


@pytest.mark.parametrize(
    ("enabled", "env", "exported"),
    [
        (None, {}, False),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        (None, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, True),
        (
            None,
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"},
            False,
        ),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": " "}, False),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        (True, {}, True),
        (True, {"OTEL_TRACES_EXPORTER": "none"}, True),  # the configuration file wins
    ],
)
def test_export_follows_the_otlp_endpoint_variables(
    enabled: bool | None, env: dict[str, str], exported: bool
) -> None:
    assert TracesConfig(enabled=enabled).export_enabled(env) is exported


async def test_the_endpoint_variable_turns_export_on_in_a_real_sidecar(
    tmp_path: Any, http_receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Path: ``agent-sidecar`` settings without a ``traces`` section, the standard variable."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", http_receiver.endpoint)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    settings = make_settings(tmp_path, traces={"schedule_delay_ms": 50})
    running, runner = await start_sidecar(settings)
    try:
        assert running.parts.spans is not None
        async with aiohttp.ClientSession() as http:
            async with http.post(running.url + "/v1/events", json=llm_event()) as response:
                assert response.status == 202
        await asyncio.to_thread(http_receiver.wait_for, lambda spans: len(spans) >= 1)
    finally:
        await runner.cleanup()


def test_config_is_strict_with_safe_defaults() -> None:
    default = TracesConfig()
    assert default.export_enabled({}) is False and default.capture_content is False
    assert default.max_queue_size == 2048
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"enabld": True}, TracesConfig)
    with pytest.raises(msgspec.ValidationError, match="max_export_batch_size"):
        msgspec.convert({"max_queue_size": 10, "max_export_batch_size": 20}, TracesConfig)
    with pytest.raises(msgspec.ValidationError, match="max_queue_size"):
        msgspec.convert({"max_queue_size": 0}, TracesConfig)
