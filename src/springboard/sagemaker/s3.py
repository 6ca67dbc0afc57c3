"""`S3Uploader` and `S3Downloader`, as the managed SDK's, over Springboard's storage
(`artifacts.storage`: `s3://` through s3fs and the standard AWS settings, or the local
default bucket, `s3:///path`, as a folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from springboard.artifacts import storage
from springboard.sagemaker.uris import localize


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/key` -> ("bucket", "key")."""
    rest = url.split("://", 1)[-1]
    bucket, _, key = rest.partition("/")
    return bucket, key


def s3_path_join(*args: str, with_end_slash: bool = False) -> str:
    joined = "/".join(a.strip("/") for a in args if a and a.strip("/"))
    if args and str(args[0]).startswith("s3://"):
        joined = "s3://" + joined[len("s3:") :].lstrip("/")
    return joined + "/" if with_end_slash else joined


class S3Uploader:
    @staticmethod
    def upload(
        local_path: str,
        desired_s3_uri: str,
        kms_key: str | None = None,
        sagemaker_session: Any = None,
        callback: Any = None,
    ) -> str:
        """Upload a file (to `<desired_s3_uri>/<its name>`) or a folder's files (under
        `desired_s3_uri`); returns the URI written, as the managed SDK does."""
        source = Path(local_path).expanduser().resolve()
        target = localize(desired_s3_uri)
        if source.is_dir():
            storage.upload_tree(source, target, "desired_s3_uri")
            return desired_s3_uri
        storage.upload(source, storage.join(target, source.name), "desired_s3_uri")
        return desired_s3_uri.rstrip("/") + "/" + source.name

    @staticmethod
    def upload_string_as_file_body(
        body: str, desired_s3_uri: str, kms_key: str | None = None, sagemaker_session: Any = None
    ) -> str:
        return S3Uploader.upload_bytes(body.encode(), desired_s3_uri)

    @staticmethod
    def upload_bytes(
        b: bytes, s3_uri: str, kms_key: str | None = None, sagemaker_session: Any = None
    ) -> str:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            staged = Path(tmp) / "body"
            staged.write_bytes(b)
            storage.upload(staged, localize(s3_uri), "s3_uri")
        return s3_uri


class S3Downloader:
    # `list` comes last: defined earlier, its name would shadow the builtin in annotations

    @staticmethod
    def download(
        s3_uri: str, local_path: str, kms_key: str | None = None, sagemaker_session: Any = None
    ) -> list[str]:
        """Copy the file at `s3_uri`, or every file under it, into the folder `local_path`
        (keeping paths below `s3_uri`); returns the local paths."""
        into = Path(local_path).expanduser().resolve()
        prefix = s3_uri.rstrip("/")
        written = []
        for uri in S3Downloader.list(s3_uri):
            relative = uri[len(prefix) :].lstrip("/") or uri.rsplit("/", 1)[-1]
            written.append(str(storage.download(localize(uri), into / relative, "s3_uri")))
        return written

    @staticmethod
    def read_bytes(s3_uri: str, sagemaker_session: Any = None) -> bytes:
        with storage.open_binary(localize(s3_uri), "s3_uri") as handle:
            return handle.read()

    @staticmethod
    def read_file(s3_uri: str, sagemaker_session: Any = None) -> str:
        return S3Downloader.read_bytes(s3_uri).decode()

    @staticmethod
    def list(s3_uri: str, sagemaker_session: Any = None) -> list[str]:
        """The URIs of the files under `s3_uri` (every depth), sorted."""
        target = localize(s3_uri)
        if not storage.is_remote(target):
            root = storage.local_path(target)
            if root.is_file():
                return [s3_uri]
            found = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
            return [s3_uri.rstrip("/") + "/" + p.relative_to(root).as_posix() for p in found]
        fs, path = storage.filesystem(target, "s3_uri")
        return sorted(fs.unstrip_protocol(p) for p in fs.find(path))
