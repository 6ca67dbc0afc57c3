"""The SageMaker runtime's paths on the control plane: `POST /endpoints/{name}/invocations`
and `/endpoints/{name}/invocations-response-stream`, forwarded to the endpoint of that
name, so that one boto3 `sagemaker-runtime` client pointed at `springboard serve` reaches
every endpoint (each endpoint also answers these paths on its own port).

The request and the answer pass through unchanged (bytes streamed as they come); an
unknown or not-InService name is the runtime's `ValidationError` ("Endpoint NAME not
found."), an endpoint that does not answer its `ServiceUnavailable`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from springboard.api.upstream import EndpointUnavailableError, Upstream, endpoint_for, relay
from springboard.errors import NotFoundError

FORWARDED = ("content-type", "accept", "x-amzn-sagemaker-custom-attributes")
PASSED_BACK = ("content-type", "x-amzn-errortype", "x-amzn-sagemaker-content-type", "retry-after")


def _runtime_error(name: str, status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"message": message}, status_code=status, headers={"x-amzn-ErrorType": name}
    )


def create_sagemaker_router(api_key: str | None) -> APIRouter:
    """The runtime's invocation routes; `api_key` (the control plane's) is what endpoints require."""
    router = APIRouter(tags=["SageMaker runtime"])
    upstream = Upstream(api_key)

    async def forward(name: str, path: str, request: Request) -> Response:
        try:
            target = endpoint_for(name, field="EndpointName", by_model_id=False)
        except NotFoundError:
            return _runtime_error("ValidationError", 400, f"Endpoint {name} not found.")
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
        try:
            answer = await upstream.send(
                target,
                f"/endpoints/{name}/{path}",
                await request.body(),
                headers=headers,
                request_id=request.headers.get("x-request-id"),
            )
        except EndpointUnavailableError as exc:
            return _runtime_error("ServiceUnavailable", 503, str(exc))
        return relay(answer, PASSED_BACK)

    @router.post("/endpoints/{name}/invocations", summary="InvokeEndpoint, routed by name")
    async def invocations(name: str, request: Request) -> Response:
        return await forward(name, "invocations", request)

    @router.post(
        "/endpoints/{name}/invocations-response-stream",
        summary="InvokeEndpointWithResponseStream, routed by name",
    )
    async def response_stream(name: str, request: Request) -> Response:
        return await forward(name, "invocations-response-stream", request)

    return router
