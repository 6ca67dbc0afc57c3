"""Reaching a Ray cluster: is `ray` installed, which address, and one connection at a time.

`address_of` picks the cluster a command means (its `--cluster`, else
`SPRINGBOARD_RAY_ADDRESS`, else none: run on this machine). `require_ray` imports Ray or
raises an error that names the install command. `connected` is the one place a process
joins a cluster as a driver (`ray.init`) and leaves it again (`ray.shutdown`), however the
block ends, so a job worker never leaves a half-open driver behind.

It does not start clusters (`ray start` or KubeRay do) and does not place work on them
(`jobs.ray_records` does).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from springboard.errors import ClientError, ServerError

log = logging.getLogger("springboard.cluster")

INSTALL = "pip install 'springboard-llm[ray]'"
NAMESPACE = "springboard"
# host:port, ray://host:port, or auto (the cluster this machine belongs to)
ADDRESS_PATTERN = re.compile(r"^(auto|(ray://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5})$")


class RayNotInstalledError(ClientError):
    """`--cluster` was given but the `ray` package is not installed."""

    code = "ray_not_installed"
    http_status = 501


class ClusterUnreachableError(ServerError):
    """The cluster's address was well formed but nothing answered there."""

    code = "cluster_unreachable"
    http_status = 503


def require_ray(field: str = "cluster") -> ModuleType:
    """The `ray` module, or an error naming the install command."""
    try:
        import ray
    except ImportError:
        raise RayNotInstalledError(
            "running on a Ray cluster needs the `ray` package, which is not installed",
            field=field,
            fix=f"install it with `{INSTALL}`, or leave out `{field}` to run on this machine",
        ) from None
    return ray


def address_of(cluster: str | None) -> str | None:
    """The cluster address meant: `cluster` as given, else `SPRINGBOARD_RAY_ADDRESS`, else
    None (this machine). A malformed address is refused naming the field."""
    from springboard.config import get_settings

    field = "cluster"
    if cluster is None:
        cluster, field = get_settings().ray_address, "SPRINGBOARD_RAY_ADDRESS"
    if cluster is None or not cluster.strip():
        return None
    cluster = cluster.strip()
    if not ADDRESS_PATTERN.fullmatch(cluster):
        raise ClientError(
            f"{cluster!r} is not a Ray cluster address",
            field=field,
            value=cluster,
            fix="give host:port (e.g. 127.0.0.1:6379), ray://host:port or auto",
        )
    return cluster


@contextmanager
def connected(address: str) -> Iterator[ModuleType]:
    """This process as a driver of the cluster at `address` for the block's life."""
    ray = require_ray()
    try:
        ray.init(
            address=address,
            namespace=NAMESPACE,
            logging_level=logging.WARNING,
            log_to_driver=False,
            configure_logging=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterUnreachableError(
            f"could not join the Ray cluster at {address}: {exc}",
            field="cluster",
            value=address,
            fix="check the address (`ray status --address ADDRESS` on the head node) "
            "or start one with `ray start --head`",
        ) from None
    try:
        yield ray
    finally:
        ray.shutdown()
        log.info("left the Ray cluster at %s", address)
