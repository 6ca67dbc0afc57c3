"""`Predictor`: a handle on a deployed endpoint — predict, stream, delete."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from springboard.sdk.arguments import managed_hub_arguments
from springboard.serving import client, endpoints

log = logging.getLogger("springboard.sdk")


def endpoint_request(endpoint_name: str, prompter: Any, data: Any) -> tuple[dict[str, Any], Any]:
    """A record of template fields (or a list of them) as a payload for the endpoint's
    model, and the rendered prompt(s): rendering happens here, on the client."""
    from springboard.catalog import Catalog

    info = endpoints.describe(endpoint_name)
    return prompter.request(data, Catalog.load().get(info.model_id, info.model_version).task)


class Predictor:
    """Invoke a deployed endpoint by name, as `sagemaker.predictor.Predictor` does."""

    @managed_hub_arguments("Predictor")
    def __init__(self, endpoint_name: str, *, content_type: str = "application/json") -> None:
        self.endpoint_name = endpoint_name
        self.content_type = content_type

    @managed_hub_arguments("Predictor.predict")
    def predict(
        self,
        data: Any,
        *,
        content_type: str | None = None,
        prompt_template: Any = None,
        examples: Any = None,
        shots: int | None = None,
    ) -> Any:
        """Send `data` (a payload dict, a list for JSON Lines, or text) and decode the answer.

        With `prompt_template` (a `Template`, a built-in name, a file or a dict) `data` is a
        record of the template's fields (or a list of them): it is rendered here, with
        `examples` (a JSON Lines path or a list of dicts), into the endpoint's payload."""
        kind = content_type or self.content_type
        if prompt_template is not None:
            from springboard.prompting import Prompter

            prompter = Prompter.load(prompt_template, examples, shots=shots)
            data, _ = endpoint_request(self.endpoint_name, prompter, data)
            kind = "application/json"
        if "jsonlines" in kind and isinstance(data, list):
            import json

            data = "\n".join(json.dumps(item) for item in data)
        return client.decode(client.invoke(self.endpoint_name, data, content_type=kind))

    def stream(self, data: dict[str, Any]) -> Iterator[str]:
        """Send one payload and yield the generated text in pieces, as the endpoint makes
        them (the pieces of every returned sequence, in the order they arrive)."""
        for line in client.stream_invoke(self.endpoint_name, data):
            if line["token"]["text"]:
                yield line["token"]["text"]

    def describe(self) -> endpoints.EndpointInfo:
        return endpoints.describe(self.endpoint_name)

    @property
    def url(self) -> str:
        return endpoints.url_of(self.endpoint_name)

    def delete_endpoint(self) -> None:
        """Stop the endpoint; when it is already gone (`delete_model` and
        `delete_endpoint` both called, in either order), log that and return."""
        from springboard.errors import NotFoundError

        try:
            endpoints.delete(self.endpoint_name)
        except NotFoundError:
            log.info("endpoint %s was already deleted; nothing to do", self.endpoint_name)

    delete_model = delete_endpoint

    def __repr__(self) -> str:
        return f"Predictor(endpoint_name={self.endpoint_name!r})"
