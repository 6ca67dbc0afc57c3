"""SageMaker's `InvokeEndpointWithResponseStream` on an endpoint: the native stream's lines
(`{"token": {"text": ...}}`, then the line with `generated_text` and `details`) sent as
`PayloadPart` events of an AWS event stream, so that boto3's
`sagemaker-runtime` client reads them (`response["Body"]` yields
`{"PayloadPart": {"Bytes": b"..."}}`) with no change to its code.

A failure before the first token is an ordinary error response (the runtime's shape, with
its status); a failure after it is a `ModelStreamError` event, which boto3 raises from the
iteration. What the stream carries is the native stream's (`serving.native_stream`); this
module only frames it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from springboard.api import eventstream

PAYLOAD_MEDIA_TYPE = "application/jsonlines"


async def payload_parts(lines: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Each burst of native lines as one `PayloadPart`; an error line as `ModelStreamError`."""
    async for chunk in lines:
        if chunk.startswith(b'{"error"'):
            error = json.loads(chunk)["error"]
            yield eventstream.exception(
                "ModelStreamError",
                {
                    "Message": str(error.get("message", "the model failed")),
                    "ErrorCode": "ModelError",
                },
            )
            return
        yield eventstream.event("PayloadPart", chunk, "application/octet-stream")
