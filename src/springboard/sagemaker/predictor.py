"""`Predictor`, as the managed SDK's: `predict(data, custom_attributes=...)` through its
serializer and deserializer, and `delete_model()` / `delete_endpoint()` in either order.

Without a serializer a dict or list goes as JSON, text as `text/plain`, bytes as JSON
bytes; without a deserializer a JSON answer comes back decoded (the managed SDK's bare
`Predictor` would send bytes and return bytes; what notebooks pass and expect is JSON).
Here an endpoint serves its one model, so `delete_model()` stops the endpoint too, and
also removes a model that `Model(model_data=...)` registered from an archive (the
archive itself stays); whichever delete comes second finds nothing left, logs that, and
returns.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from springboard.errors import ConflictError, NotFoundError
from springboard.sdk.arguments import managed_hub_arguments
from springboard.sdk.predictor import Predictor as _SdkPredictor

log = logging.getLogger("springboard.sdk")
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"


def is_archive_model(model_id: str) -> bool:
    """Whether `model_id` was registered from a model archive (`Model(model_data=...)`)."""
    from springboard.store import registered_models

    specs = registered_models.versions_of(model_id)
    return any((s.get("lineage") or {}).get("archive_sha256") for s in specs)


def delete_archive_model(model_id: str) -> None:
    """Remove a model registered from an archive (its extracted files too); a model
    that is not one, or is gone, is left alone with a log line."""
    from springboard.housekeeping import delete_model

    if not is_archive_model(model_id):
        log.info("model %s is not one registered from model_data; it stays", model_id)
        return
    try:
        delete_model(model_id)
    except NotFoundError:
        log.info("model %s was already deleted; nothing to do", model_id)
    except ConflictError as exc:
        log.info("model %s stays: %s", model_id, exc)
    else:
        log.info("deleted model %s", model_id)


class Predictor(_SdkPredictor):
    """`Predictor(endpoint_name, serializer=JSONSerializer(), deserializer=JSONDeserializer())`."""

    @managed_hub_arguments("sagemaker.Predictor")
    def __init__(
        self, endpoint_name: str, *, serializer: Any = None, deserializer: Any = None
    ) -> None:
        super().__init__(endpoint_name)
        self.serializer = serializer
        self.deserializer = deserializer
        self.model_id: str | None = None  # what it serves, once known (for delete_model)

    @property
    def endpoint(self) -> str:
        return self.endpoint_name

    @property
    def accept(self) -> tuple[str, ...]:
        return self.deserializer.ACCEPT if self.deserializer is not None else ("application/json",)

    def _body(self, data: Any, content_type: str | None) -> tuple[Any, str]:
        if self.serializer is not None:
            return self.serializer.serialize(data), content_type or self.serializer.CONTENT_TYPE
        if isinstance(data, (dict, list)):
            return json.dumps(data), content_type or "application/json"
        if isinstance(data, str):
            return data, content_type or "text/plain"
        return data, content_type or "application/json"

    @managed_hub_arguments("sagemaker.Predictor.predict")
    def predict(  # type: ignore[override]
        self,
        data: Any,
        initial_args: dict[str, str] | None = None,
        *,
        custom_attributes: str | None = None,
    ) -> Any:
        """Send `data` and return the answer, deserialized; `custom_attributes` go in the
        X-Amzn-SageMaker-Custom-Attributes header, as the managed runtime sends them
        (`initial_args` may carry ContentType, Accept and CustomAttributes)."""
        from springboard.serving import client

        args = dict(initial_args or {})
        body, content_type = self._body(data, args.get("ContentType"))
        headers = {"Accept": args.get("Accept", ", ".join(self.accept))}
        attributes = custom_attributes or args.get("CustomAttributes")
        if attributes:
            headers[CUSTOM_ATTRIBUTES] = attributes
        response = client.invoke(
            self.endpoint_name, body, content_type=content_type, headers=headers
        )
        if self.deserializer is not None:
            return self.deserializer.deserialize(
                io.BytesIO(response.content), response.headers.get("content-type", "")
            )
        kind = response.headers.get("content-type", "")
        return client.decode(response) if "json" in kind else response.content

    def _delete_endpoint_if_there(self) -> None:
        from springboard.serving import endpoints

        try:
            self.model_id = endpoints.describe(self.endpoint_name).model_id
            endpoints.delete(self.endpoint_name)
        except NotFoundError:
            log.info("endpoint %s was already deleted; nothing to do", self.endpoint_name)
        else:
            log.info("deleted endpoint %s", self.endpoint_name)

    def delete_endpoint(self, delete_endpoint_config: bool = True) -> None:
        """Stop the endpoint; a no-op (logged) when it is already gone."""
        self._delete_endpoint_if_there()

    def delete_model(self) -> None:
        """Stop the endpoint (it serves the model) and remove a model registered from an
        archive; what is already gone is logged and skipped."""
        self._delete_endpoint_if_there()
        if self.model_id:
            delete_archive_model(self.model_id)

    def __repr__(self) -> str:
        return f"Predictor(endpoint_name={self.endpoint_name!r})"
