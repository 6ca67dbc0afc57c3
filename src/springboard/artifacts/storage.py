"""Reading and writing the bytes at a location: a local path, `file://`, or any fsspec URL.

Jobs of every kind name their inputs and outputs as locations: `/data/in.jsonl`,
`file:///data/in/`, `s3://bucket/prefix/`, or a URL of any installed fsspec backend
(`gs://`, `az://`, ...). This module lists a location's files, streams them, downloads
and uploads them. It does not decide whether a caller *may* name a location — that is
`locations.LocationPolicy`, checked first and without opening anything — nor what the
bytes mean.

Credentials and endpoints are the backend's own standard settings; for `s3://` botocore's
(`AWS_ENDPOINT_URL`, `AWS_PROFILE`, `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`,
`AWS_DEFAULT_REGION`, `~/.aws/config`, instance roles) read by s3fs. Springboard adds no
variables of its own.

Writing to a remote folder is by whole files: `upload` puts a local file under a name,
replacing what was there, so repeating it (a worker killed after an upload but before it
recorded it) leaves the same object. How batch jobs build exactly-once output on that is
`jobs.batch_locations`.

Every failure is a `ValidationError` naming the parameter the location came from
(`input`, `output`, `train`, ...), with the location and the fix: a location or bucket
that does not exist, a backend that is not installed, a remote that refuses us.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from springboard.errors import Issue, ValidationError

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
# Object stores whose first path component is a bucket (or container) that must exist.
BUCKET_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "oss", "r2"})
CREDENTIALS_FIX = {
    "s3": "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL "
    "for an S3-compatible server), as for the AWS CLI",
}


def scheme(uri: str) -> str:
    """The URL scheme of `uri`, lower-cased; "file" for a plain path."""
    match = _SCHEME.match(uri)
    return match.group(1).lower() if match else "file"


def is_remote(uri: str) -> bool:
    return scheme(uri) != "file"


def local_path(uri: str) -> Path:
    """The absolute local path of a plain path or a `file://` URI."""
    match = _SCHEME.match(uri)
    return Path(uri[len(match.group(0)) :] if match else uri).expanduser().resolve()


def join(folder: str, name: str) -> str:
    """`folder/name` for a local folder or a URL (`s3://b/out/` + `a.out` -> `s3://b/out/a.out`)."""
    if is_remote(folder):
        return folder.rstrip("/") + "/" + name
    return str(local_path(folder) / name)


def basename(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


# -- remote filesystems ------------------------------------------------------------------


def require_backend(uri: str, field: str) -> None:
    """Refuse a scheme whose fsspec backend is not installed, without opening anything."""
    import fsspec

    name = scheme(uri)
    try:
        fsspec.get_filesystem_class(name)
    except (ImportError, ValueError) as exc:
        raise ValidationError(
            [
                Issue(
                    field,
                    f"cannot open {name}:// locations: {exc}",
                    uri,
                    f"install the fsspec backend for {name} (s3: pip install "
                    "s3fs), or use a local path",
                )
            ]
        ) from None


def filesystem(uri: str, field: str) -> tuple[Any, str]:
    """The fsspec filesystem of a remote `uri` and the path within it."""
    import fsspec

    require_backend(uri, field)
    with _failures(uri, field):
        return fsspec.core.url_to_fs(uri)


@contextmanager
def _failures(uri: str, field: str, doing: str = "open") -> Iterator[None]:
    """Turn what a remote raises into an error naming `field`, the location and the fix."""
    try:
        yield
    except ValidationError:
        raise
    except FileNotFoundError as exc:
        raise ValidationError(
            [Issue(field, f"{uri} does not exist ({exc})", uri, "check the bucket and the path")]
        ) from exc
    except PermissionError as exc:
        raise ValidationError(
            [
                Issue(
                    field,
                    f"access to {uri} was denied ({exc})",
                    uri,
                    CREDENTIALS_FIX.get(scheme(uri), "check the credentials of the backend"),
                )
            ]
        ) from exc
    except Exception as exc:  # botocore, aiohttp, OSError: the remote's own reason, kept
        fix = CREDENTIALS_FIX.get(scheme(uri), "check the location and the backend's settings")
        raise ValidationError(
            [Issue(field, f"cannot {doing} {uri}: {type(exc).__name__}: {exc}", uri, fix)]
        ) from exc


def _missing(fs: Any, path: str, uri: str, field: str) -> ValidationError:
    """The error for a location that is not there, saying whether its bucket is."""
    bucket = path.strip("/").split("/", 1)[0]
    if scheme(uri) in BUCKET_SCHEMES and bucket and not fs.exists(bucket):
        return ValidationError(
            [
                Issue(
                    field,
                    f"{uri} does not exist: there is no bucket {bucket!r}",
                    uri,
                    "create the bucket, or check its name and the endpoint (AWS_ENDPOINT_URL)",
                )
            ]
        )
    return ValidationError(
        [Issue(field, f"{uri} does not exist", uri, "give an existing file, or a folder of files")]
    )


# -- reading -----------------------------------------------------------------------------


def list_files(
    uri: str,
    field: str,
    *,
    suffixes: tuple[str, ...] | None = None,
    skip: frozenset[str] = frozenset(),
) -> list[str]:
    """The files of a location: the file itself, or a folder's files (not hidden, not in
    sub-folders, only `suffixes` (any case) when given, not `skip`), sorted by name. Local
    files come back as absolute paths, remote ones as URLs."""

    def keep(name: str) -> bool:
        return (
            not name.startswith(".")
            and name not in skip
            and (suffixes is None or name.lower().endswith(suffixes))  # suffixes: lowercase
        )

    if not is_remote(uri):
        folder = local_path(uri)
        if folder.is_file():
            return [str(folder)]
        if not folder.is_dir():
            raise ValidationError(
                [
                    Issue(
                        field,
                        f"{folder} does not exist",
                        uri,
                        "give an existing file, or a folder of files",
                    )
                ]
            )
        files = sorted(str(p) for p in folder.iterdir() if p.is_file() and keep(p.name))
    else:
        fs, path = filesystem(uri, field)
        with _failures(uri, field, "list"):
            if fs.isfile(path):
                return [uri]
            if not fs.isdir(path):
                raise _missing(fs, path, uri, field)
            entries = fs.ls(path, detail=True)
            files = sorted(
                fs.unstrip_protocol(e["name"])
                for e in entries
                if e.get("type") == "file" and keep(basename(e["name"]))
            )
    if not files:
        wanted = f" ({', '.join(suffixes)})" if suffixes else ""
        raise ValidationError(
            [
                Issue(
                    field,
                    f"{uri} holds no data files{wanted}",
                    uri,
                    "put the data files in the folder, or name a file",
                )
            ]
        )
    return files


def list_folders(uri: str, field: str) -> list[str]:
    """The names of the folders directly in the folder `uri`, sorted; none when `uri` is
    not there yet."""
    if not is_remote(uri):
        folder = local_path(uri)
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    fs, path = filesystem(uri, field)
    with _failures(uri, field, "list"):
        fs.invalidate_cache()  # listings cached before another process wrote here
        if not fs.isdir(path):
            return []
        entries = fs.ls(path, detail=True)
    return sorted(basename(e["name"]) for e in entries if e.get("type") == "directory")


def download_tree(uri: str, target: Path, field: str) -> Path:
    """Copy every file under the folder `uri` into the local folder `target`, keeping
    their relative paths."""
    if not is_remote(uri):
        import shutil

        shutil.copytree(local_path(uri), target, dirs_exist_ok=True)
        return target
    fs, path = filesystem(uri, field)
    root = path.rstrip("/")
    with _failures(uri, field, "download"):
        for name in fs.find(root):
            local = target / name[len(root) :].lstrip("/")
            local.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(name, str(local))
    return target


def remove_tree(uri: str, field: str) -> None:
    """Remove the folder `uri` and everything in it (nothing when it is not there)."""
    if not is_remote(uri):
        import shutil

        shutil.rmtree(local_path(uri), ignore_errors=True)
        return
    fs, path = filesystem(uri, field)
    with _failures(uri, field, "remove"):
        if fs.exists(path):
            fs.rm(path, recursive=True)


def exists(uri: str, field: str) -> bool:
    if not is_remote(uri):
        return local_path(uri).exists()
    fs, path = filesystem(uri, field)
    with _failures(uri, field):
        return bool(fs.exists(path))


@contextmanager
def open_binary(uri: str, field: str) -> Iterator[IO[bytes]]:
    """`uri` open for reading bytes, streamed (a remote file is read in blocks, never whole)."""
    if not is_remote(uri):
        with open(local_path(uri), "rb") as handle:
            yield handle
        return
    import io

    fs, path = filesystem(uri, field)
    with _failures(uri, field, "read"):
        remote = fs.open(path, "rb")
    # fsspec's own readline() takes no limit; a buffered reader's does (bounded lines)
    with io.BufferedReader(remote, buffer_size=1 << 20) as handle:
        yield handle


def download(uri: str, target: Path, field: str) -> Path:
    """Copy the file at `uri` to the local path `target` (its folder is created)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not is_remote(uri):
        import shutil

        shutil.copyfile(local_path(uri), target)
        return target
    fs, path = filesystem(uri, field)
    with _failures(uri, field, "download"):
        fs.get_file(path, str(target))
    return target


# -- writing -----------------------------------------------------------------------------


def require_writable(uri: str, field: str) -> None:
    """Check that an output folder can be created at `uri`: a local one is created; a
    remote one's bucket must exist (nothing is written there yet)."""
    if not is_remote(uri):
        local_path(uri).mkdir(parents=True, exist_ok=True)
        return
    fs, path = filesystem(uri, field)
    bucket = path.strip("/").split("/", 1)[0]
    with _failures(uri, field):
        if scheme(uri) in BUCKET_SCHEMES and not fs.exists(bucket):
            raise ValidationError(
                [
                    Issue(
                        field,
                        f"cannot write to {uri}: there is no bucket {bucket!r}",
                        uri,
                        "create the bucket, or check its name and the endpoint (AWS_ENDPOINT_URL)",
                    )
                ]
            )
        if fs.isfile(path):
            raise ValidationError(
                [
                    Issue(
                        field,
                        f"{uri} is a file; the output is a folder",
                        uri,
                        "name a folder (a prefix ending in /)",
                    )
                ]
            )


def upload(source: Path, uri: str, field: str) -> None:
    """Put the local file `source` at `uri`, replacing what is there (whole, or not at all:
    object stores make a finished upload visible at once)."""
    if not is_remote(uri):
        import os
        import shutil

        target = local_path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        return
    fs, path = filesystem(uri, field)
    with _failures(uri, field, "upload to"):
        fs.put_file(str(source), path)


def upload_tree(source: Path, uri: str, field: str) -> list[str]:
    """Upload every file under the local folder `source` to the folder `uri`, keeping
    their relative paths; returns the URIs written."""
    written = []
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        target = join(uri, file.relative_to(source).as_posix())
        upload(file, target, field)
        written.append(target)
    return written
