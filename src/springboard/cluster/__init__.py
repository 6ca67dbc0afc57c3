"""Springboard on a Ray cluster: reaching one (`connection`) and reporting on it (`status`).

Ray is optional (`pip install 'springboard-llm[ray]'`); nothing here imports it until a
cluster is named. Batch jobs place their records on a cluster in `jobs.ray_records`.
"""

from springboard.cluster.connection import (
    INSTALL,
    ClusterUnreachableError,
    RayNotInstalledError,
    address_of,
    connected,
    require_ray,
)

__all__ = [
    "INSTALL",
    "ClusterUnreachableError",
    "RayNotInstalledError",
    "address_of",
    "connected",
    "require_ray",
]
