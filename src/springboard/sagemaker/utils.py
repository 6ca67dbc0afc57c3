"""`utils.name_from_base` and friends, with the managed SDK's formats: a base cut to fit,
then a timestamp (`2026-12-02-18-22-27-123`, or `261202-1822` when `short`)."""

from __future__ import annotations

import random
import time


def sagemaker_timestamp() -> str:
    moment = time.time()
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(moment))
    return f"{stamp}-{int((moment % 1) * 1000):03d}"


def sagemaker_short_timestamp() -> str:
    return time.strftime("%y%m%d-%H%M")


def name_from_base(base: str, max_length: int = 63, short: bool = False) -> str:
    """`base` (cut to fit `max_length`) + "-" + a timestamp."""
    stamp = sagemaker_short_timestamp() if short else sagemaker_timestamp()
    return f"{base[: max_length - len(stamp) - 1]}-{stamp}"


def unique_name_from_base(base: str, max_length: int = 63) -> str:
    """`base` + "-" + epoch seconds + "-" + four random hex digits, within `max_length`."""
    unique = f"{random.randrange(16**4):04x}"
    stamp = str(int(time.time()))
    return f"{base[: max_length - len(stamp) - len(unique) - 2]}-{stamp}-{unique}"


def base_name_from_image(image: str, default_base_name: str | None = None) -> str:
    """The repository part of an image URI (or of a Springboard URI, the model id)."""
    from springboard.sagemaker import uris

    if uris.is_catalog(image):
        return uris.parse(image, "image_uri").model_id
    name = image.rsplit("/", 1)[-1].split(":", 1)[0]
    return name or default_base_name or "springboard"
