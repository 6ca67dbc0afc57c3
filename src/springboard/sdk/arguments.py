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

# The `springboard.sagemaker` namespace (signatures as the managed SDK's): what each call
# accepts and ignores. Arguments a call gives a meaning (instance_type is checked against
# this machine, output_path is where the archive goes) are its own parameters instead.
_JUMPSTART_LOOKUP = frozenset(
    {
        "region",
        "hub_arn",
        "tolerate_vulnerable_model",
        "tolerate_deprecated_model",
        "sagemaker_session",
        "config_name",
        "model_type",
    }
)
_SM_DEPLOY = (_DEPLOYMENT - {"instance_type", "serializer", "deserializer"}) | {
    "inference_component_name",
    "model_reference_arn",
    "model_access_configs",
    "update_endpoint",
}
_SM_MODEL = frozenset(
    {
        "role",
        "vpc_config",
        "sagemaker_session",
        "enable_network_isolation",
        "model_kms_key",
        "image_config",
        "code_location",
        "container_log_level",
        "dependencies",
        "git_config",
        "resources",
        "additional_model_data_sources",
        "model_reference_arn",
        "inference_config_name",
        "training_config_name",
        "entry_point",
    }
)
_SM_ESTIMATOR = (
    MANAGED_HUB["Estimator"] - {"instance_type", "instance_count", "base_job_name"}
) | {
    "model_channel_name",
    "rules",
    "tensorboard_output_config",
    "profiler_config",
    "git_config",
    "code_location",
    "dependencies",
    "instance_groups",
    "training_repository_access_mode",
    "training_repository_credentials_provider_arn",
    "container_entry_point",
    "container_arguments",
    "enable_infra_check",
    "enable_remote_debug",
    "enable_session_tag_chaining",
    "training_plan",
    "entry_point",
    "hub_name",
    "model_package_arn",
    "config_name",
}
MANAGED_HUB.update(
    {
        "hyperparameters.retrieve_default": _JUMPSTART_LOOKUP
        | {"instance_type", "include_container_hyperparameters"},
        "hyperparameters.validate": _JUMPSTART_LOOKUP,
        "instance_types.retrieve_default": _JUMPSTART_LOOKUP,
        "image_uris.retrieve": _JUMPSTART_LOOKUP
        | {
            "version",
            "py_version",
            "instance_type",
            "accelerator_type",
            "container_version",
            "distribution",
            "base_framework_version",
            "training_compiler_config",
            "sdk_version",
            "inference_tool",
            "serverless_inference_config",
        },
        "model_uris.retrieve": _JUMPSTART_LOOKUP | {"instance_type"},
        "script_uris.retrieve": _JUMPSTART_LOOKUP,
        "sagemaker.Session": frozenset(
            {
                "boto_session",
                "sagemaker_client",
                "sagemaker_runtime_client",
                "sagemaker_featurestore_runtime_client",
                "sagemaker_config",
                "settings",
                "sagemaker_metrics_client",
            }
        ),
        "sagemaker.Model": _SM_MODEL,
        "sagemaker.Model.deploy": _SM_DEPLOY,
        "JumpStartModel": _SM_MODEL
        | {"hub_name", "model_package_arn", "config_name"}
        | _JUMPSTART_LOOKUP,
        "sagemaker.Estimator": _SM_ESTIMATOR,
        "JumpStartEstimator": _SM_ESTIMATOR,
        "sagemaker.Estimator.fit": frozenset({"experiment_config"}),
        "sagemaker.Estimator.deploy": _SM_DEPLOY
        | _SM_MODEL
        | {"image_uri", "use_compiled_model", "model_name", "source_dir"},
        "sagemaker.Predictor": frozenset({"sagemaker_session", "component_name"}),
        "sagemaker.Predictor.predict": frozenset(
            {"target_model", "target_variant", "inference_id", "component_name"}
        ),
        "sagemaker.Transformer": _TRANSFORM_JOB - {"instance_type", "accept"}
        | {"sagemaker_session", "base_transform_job_name"},
        "sagemaker.Transformer.transform": MANAGED_HUB["Transformer.transform"] | {"data_type"},
        "sagemaker.Model.transformer": _TRANSFORM_JOB - {"instance_type", "accept"},
        "jumpstart.notebook_utils.list_jumpstart_models": frozenset(
            {"region", "list_incomplete_models", "sagemaker_session"}
        ),
    }
)

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
