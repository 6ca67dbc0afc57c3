"""Where bytes live: model weights, and the data and results of jobs.

`resolve_model_dir(spec)` finds a model's files (bundled in the package, a local
directory, the Hugging Face cache, or the Hub when downloads are allowed) and checks they
are safe to load (`safety`). `storage` lists, streams, downloads and uploads job
locations — local paths, `file://` and any fsspec URL such as `s3://` — and `locations`
says which of them a caller may name. Loading weights into memory is `inference`'s job;
what the bytes of a job mean is the job's.
"""

from springboard.artifacts.resolve import bundled_root, resolve_model_dir
from springboard.artifacts.safety import check_safe

__all__ = ["bundled_root", "check_safe", "resolve_model_dir"]
