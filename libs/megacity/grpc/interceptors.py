"""Server interceptor: metrics per method and the one error mapping (AppError -> status +
`x-error-code` trailer; anything unexpected -> INTERNAL with a stable code, never a traceback)."""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from megacity.errors import AppError
from megacity.telemetry.logs import get_logger
from megacity.telemetry.metrics import GRPC_LATENCY, GRPC_REQUESTS

log = get_logger("megacity.grpc")


async def _fail(context: grpc.aio.ServicerContext, err: AppError) -> None:
    context.set_trailing_metadata(err.grpc_trailers())
    await context.abort(err.grpc_status, err.detail or err.code)


def _unexpected(method: str, exc: BaseException) -> AppError:
    log.exception("grpc handler failed", method=method, exc_info=exc)
    return AppError(500, "internal.error", "internal error")


class ServerInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, service: str) -> None:
        self.service = service

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(("/grpc.health", "/grpc.reflection")):
            return handler
        method = details.method
        service = self.service

        def _record(start: float, context: grpc.aio.ServicerContext) -> None:
            code = context.code() or grpc.StatusCode.OK
            GRPC_REQUESTS.labels(service, method, getattr(code, "name", str(code))).inc()
            GRPC_LATENCY.labels(service, method).observe(time.perf_counter() - start)

        if handler.unary_unary:
            inner = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                start = time.perf_counter()
                try:
                    return await inner(request, context)
                except AppError as err:
                    await _fail(context, err)
                except (grpc.aio.AbortError, grpc.aio.BaseError):
                    raise
                except Exception as exc:  # noqa: BLE001 - mapped to a stable INTERNAL
                    await _fail(context, _unexpected(method, exc))
                finally:
                    _record(start, context)

            return grpc.unary_unary_rpc_method_handler(
                unary, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)

        if handler.unary_stream:
            inner_stream = handler.unary_stream

            async def stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
                start = time.perf_counter()
                try:
                    async for item in inner_stream(request, context):
                        yield item
                except AppError as err:
                    await _fail(context, err)
                except (grpc.aio.AbortError, grpc.aio.BaseError):
                    raise
                except Exception as exc:  # noqa: BLE001
                    await _fail(context, _unexpected(method, exc))
                finally:
                    _record(start, context)

            return grpc.unary_stream_rpc_method_handler(
                stream, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
        return handler
