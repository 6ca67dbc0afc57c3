"""Strict SDK signatures that still run code written for the managed hub's SDK.

A public SDK call refuses an argument it does not know with a `TypeError` naming the
nearest one it does: `JumpStartModel(...).deploy(acept_eula=True)` says "did you mean
'accept_eula'?" instead of deploying without the EULA accepted. The managed hub's own
arguments that mean nothing on one machine (instance types and counts, IAM roles,
sessions, KMS keys, ...) are listed per call in `MANAGED_HUB`: they are accepted, so
that a ported notebook runs unchanged, and dropped with a logged note (logger
`springboard.sdk`, level INFO, once per call and argument). A call's own parameters are
its signature; nothing here decides what they do.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("springboard.sdk")

F = TypeVar("F", bound=Callable[..., Any])

_DEPLOYMENT = frozenset(
    {
        "initial_instance_count",
        "instance_type",
        "accelerator_type",
        "serializer",
        "deserializer",
        "tags",
        "kms_key",
        "data_capture_config",
        "async_inference_config",
        "serverless_inference_config",
        "volume_size",
        "model_data_download_timeout",
        "container_startup_health_check_timeout",
        "inference_recommendation_id",
        "explainer_config",
        "endpoint_logging",
        "resources",
        "managed_instance_scaling",
        "endpoint_type",
        "routing_config",
        "inference_ami_version",
    }
)
_TRANSFORM_JOB = frozenset(
    {
        "instance_count",
        "instance_type",
        "strategy",
        "assemble_with",
        "output_kms_key",
        "accept",
        "max_concurrent_transforms",
        "tags",
        "volume_kms_key",
    }
)

# call -> the managed hub's arguments it accepts and ignores (sagemaker.jumpstart and
# sagemaker SDK names)
MANAGED_HUB: dict[str, frozenset[str]] = {
    "Model": frozenset(
        {
            "instance_type",
            "role",
            "region",
            "sagemaker_session",
            "tolerate_vulnerable_model",
            "tolerate_deprecated_model",
            "enable_network_isolation",
            "vpc_config",
            "model_kms_key",
            "name",
            "container_log_level",
            "predictor_cls",
        }
    ),
    "Model.deploy": _DEPLOYMENT,
    "Model.transformer": _TRANSFORM_JOB,
    "Transformer": _TRANSFORM_JOB | {"base_transform_job_name", "sagemaker_session"},
    "Transformer.transform": frozenset(
        {
            "data_type",
            "compression_type",
            "split_type",
            "input_filter",
            "output_filter",
            "join_source",
            "experiment_config",
            "model_client_config",
            "batch_data_capture_config",
            "logs",
        }
    ),
    "Estimator": frozenset(
        {
            "role",
            "instance_count",
            "instance_type",
            "volume_size",
            "volume_kms_key",
            "max_run",
            "input_mode",
            "output_kms_key",
            "base_job_name",
            "sagemaker_session",
            "tags",
            "subnets",
            "security_group_ids",
            "metric_definitions",
            "encrypt_inter_container_traffic",
            "use_spot_instances",
            "max_wait",
            "checkpoint_s3_uri",
            "checkpoint_local_path",
            "enable_network_isolation",
            "max_retry_attempts",
            "keep_alive_period_in_seconds",
            "region",
            "tolerate_vulnerable_model",
            "tolerate_deprecated_model",
            "disable_profiler",
            "container_log_level",
            "debugger_hook_config",
            "disable_output_compression",
            "enable_sagemaker_metrics",
        }
    ),
    "Estimator.fit": frozenset({"logs", "experiment_config"}),
    "Estimator.deploy": _DEPLOYMENT
    | {
        "image_uri",
        "role",
        "predictor_cls",
        "model_name",
        "use_compiled_model",
        "vpc_config",
        "enable_network_isolation",
        "model_kms_key",
        "sagemaker_session",
    },
    "Predictor": frozenset({"sagemaker_session", "serializer", "deserializer", "component_name"}),
    "Predictor.predict": frozenset(
        {
            "initial_args",
            "target_model",
            "target_variant",
            "inference_id",
            "custom_attributes",
            "component_name",
        }
    ),
}

_noted: set[tuple[str, str]] = set()


def _own_names(function: Callable[..., Any]) -> list[str]:
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [
        name
        for name, p in inspect.signature(function).parameters.items()
        if p.kind in kinds and name != "self"
    ]


def unknown_argument(call: str, name: str, known: list[str]) -> TypeError:
    """The `TypeError` for argument `name` of `call`, naming the nearest of `known`."""
    nearest = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean {nearest[0]!r}?" if nearest else f"; it takes {', '.join(known)}"
    return TypeError(f"{call}() got an unexpected keyword argument {name!r}{hint}")


def managed_hub_arguments(
    call: str, *, forwards_to: Callable[..., Any] | None = None
) -> Callable[[F], F]:
    """Make `call` (e.g. "Model.deploy") accept `MANAGED_HUB[call]` as ignored keyword
    arguments; any other unknown keyword is a `TypeError` with a did-you-mean. A call
    whose `**kwargs` are another's (`forwards_to`) knows that one's parameters too."""
    ported = MANAGED_HUB[call]

    def decorate(function: F) -> F:
        own = _own_names(function) + (_own_names(forwards_to) if forwards_to else [])
        known = own + sorted(ported)

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            for name in [k for k in kwargs if k not in own]:
                if name not in ported:
                    raise unknown_argument(call, name, known)
                kwargs.pop(name)
                if (call, name) not in _noted:
                    _noted.add((call, name))
                    log.info(
                        "%s: %s is a managed-hub argument with no meaning here; ignored", call, name
                    )
            return function(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate
