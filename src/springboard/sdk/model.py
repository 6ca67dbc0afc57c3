"""`Model` (alias `JumpStartModel`): a catalog model you can deploy or run in-process.

Unknown keyword arguments are refused with a did-you-mean; the managed hub's own
arguments with no local meaning are accepted and ignored (`sdk.arguments`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from springboard.options import TransformOptions, default_of
from springboard.sdk.arguments import managed_hub_arguments
from springboard.sdk.predictor import Predictor

if TYPE_CHECKING:
    from springboard.sdk.transformer import Transformer


class Model:
    """A catalog model, as `sagemaker.jumpstart.model.JumpStartModel` is.

    `Model("springboard-tiny-t5").deploy(endpoint_name="t5")` starts an endpoint and
    returns its `Predictor`.
    """

    @managed_hub_arguments("Model")
    def __init__(
        self,
        model_id: str,
        model_version: str = "*",
        *,
        env: dict[str, str] | None = None,
        model_dir: str | None = None,
    ) -> None:
        from springboard.catalog import get_model

        self.spec = get_model(model_id, model_version)  # unknown ids fail here, not at deploy
        self.model_id = self.spec.id
        self.model_version = self.spec.version
        self.env = dict(env or {})
        self.model_dir = model_dir
        self._generator: Any = None

    @managed_hub_arguments("Model.deploy")
    def deploy(
        self,
        *,
        endpoint_name: str | None = None,
        accept_eula: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        wait: bool = True,
        env: dict[str, str] | None = None,
    ) -> Predictor:
        """Start an endpoint serving this model; return its `Predictor`.

        `env` holds deployment settings (`OPTION_MAX_ROLLING_BATCH_SIZE`, ...; an unknown
        one is refused) and variables for the server's environment. Managed-hub arguments
        with no local meaning (instance_type, initial_instance_count, ...) are accepted and
        ignored so that existing code runs unchanged.
        """
        from springboard.serving import endpoints

        info = endpoints.deploy(
            self.model_id,
            version=self.model_version,
            name=endpoint_name,
            host=host,
            port=port,
            env={**self.env, **(env or {})},
            accept_eula=accept_eula,
            model_dir=self.model_dir,
            wait=wait,
        )
        return Predictor(info.name)

    @managed_hub_arguments("Model.transformer")
    def transformer(
        self,
        *,
        output_path: str,
        env: dict[str, str] | None = None,
        batch_size: int = default_of(TransformOptions, "batch_size"),
        max_payload: float = default_of(TransformOptions, "max_payload_mb"),
        accept_eula: bool = False,
        prompt_template: Any = None,
        examples: Any = None,
        shots: int | None = None,
        keep_prompt: bool = False,
    ) -> Transformer:
        """A `Transformer` that runs this model over datasets as batch jobs (records of
        template fields with `prompt_template=`)."""
        from springboard.sdk.transformer import Transformer

        return Transformer(
            self.model_id,
            self.model_version,
            output_path=output_path,
            env={**self.env, **(env or {})},
            batch_size=batch_size,
            max_payload=max_payload,
            accept_eula=accept_eula,
            model_dir=self.model_dir,
            prompt_template=prompt_template,
            examples=examples,
            shots=shots,
            keep_prompt=keep_prompt,
        )

    def predict(
        self,
        payload: Any,
        *,
        accept_eula: bool = False,
        prompt_template: Any = None,
        examples: Any = None,
        shots: int | None = None,
    ) -> Any:
        """Run one payload in this process, with no endpoint (the model loads once). With
        `prompt_template`, `payload` is a record of the template's fields (or a list)."""
        from springboard.inference import Generator

        if self._generator is None:
            self._generator = Generator.from_catalog(
                self.model_id, self.model_version, model_dir=self.model_dir, accept_eula=accept_eula
            )
        if prompt_template is not None:
            from springboard.prompting import Prompter

            prompter = Prompter.load(prompt_template, examples, shots=shots)
            payload, _ = prompter.request(payload, self._generator.task)
        return self._generator.predict(payload)


JumpStartModel = Model
