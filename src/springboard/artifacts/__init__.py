"""Where model bytes live: resolving a catalog spec to a local directory of weights.

`resolve_model_dir(spec)` finds the files (bundled in the package, a local directory,
the Hugging Face cache, or the Hub when downloads are allowed) and checks they are safe
to load. Loading them into memory is `inference`'s job.
"""

from springboard.artifacts.resolve import bundled_root, resolve_model_dir
from springboard.artifacts.safety import check_safe

__all__ = ["bundled_root", "check_safe", "resolve_model_dir"]
