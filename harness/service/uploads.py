"""What an upload may be, checked before anything is stored.

One archive (.zip, .tar.gz, .tgz, .tar) is kept as it is, after it was
checked whole: its entries and unpacked size are bounded (zip bombs), and it
is opened the way grading opens it (``netgrade.submission``), so an entry that
would land outside the folder (``..``, an absolute path, a link pointing out,
a device) refuses it.  Several loose files (or one that is not an archive) are
packed into one zip; a loose file must be text (program sources,
``netgrade.toml``): anything else belongs in an archive.  Every refusal is an ``UploadError`` with a one-line reason.
"""
from __future__ import annotations

import gzip
import io
import os
import re
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass

from ..i18n import N_, MessageError, Msg
from .limits import Limits

ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ +-]{0,127}$")


class UploadError(MessageError):
    """Why an upload is refused (a page says it in its language; ``reason``, the API's JSON)."""

    def __init__(self, reason: str | Msg, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class Stored:
    filename: str
    data: bytes


def _archive_kind(name: str) -> str | None:
    lower = name.lower()
    for suffix in ARCHIVES:
        if lower.endswith(suffix):
            return suffix
    return None


def _check_zip(data: bytes, lim: Limits) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UploadError(Msg.of(N_("not a readable zip archive ({error})"), error=str(exc))) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > lim.max_files:
            raise UploadError(Msg.of(N_("the archive has {count} entries; at most {most} are accepted"),
                                     count=len(infos), most=lim.max_files))
        size = sum(i.file_size for i in infos)
        if size > lim.max_unpacked_bytes:
            raise UploadError(Msg.of(N_("the archive unpacks to {size} bytes; at most {most} are accepted"), size=size,
                                 most=lim.max_unpacked_bytes), 413)


def _check_tar(data: bytes, suffix: str, lim: Limits) -> None:
    raw = data
    if suffix in (".tar.gz", ".tgz"):
        # decompress with a ceiling: a small .gz can unpack to gigabytes
        out = io.BytesIO()
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
                while chunk := gz.read(1 << 16):
                    out.write(chunk)
                    if out.tell() > lim.max_unpacked_bytes + (1 << 20):
                        raise UploadError(Msg.of(N_("the archive unpacks to more than {most} bytes"),
                                                 most=lim.max_unpacked_bytes), 413)
        except (OSError, EOFError, zlib.error) as exc:
            raise UploadError(Msg.of(N_("not a readable .tar.gz archive ({error})"), error=str(exc))) from None
        raw = out.getvalue()
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tf:
            members = []
            for m in tf:
                members.append(m)
                if len(members) > lim.max_files:
                    raise UploadError(Msg.of(N_("the archive has more than {most} entries"), most=lim.max_files))
    except tarfile.TarError as exc:
        raise UploadError(Msg.of(N_("not a readable tar archive ({error})"), error=str(exc))) from None
    size = sum(m.size for m in members)
    if size > lim.max_unpacked_bytes:
        raise UploadError(Msg.of(N_("the archive unpacks to {size} bytes; at most {most} are accepted"), size=size,
                                 most=lim.max_unpacked_bytes), 413)


def _open_like_grading(data: bytes, filename: str) -> None:
    """Unpack it as grading will (into a private temporary folder): unsafe entries refuse it."""
    from ..submission import SubmissionError, open_submission
    with tempfile.TemporaryDirectory(prefix="netgrade-upload-") as tmp:
        path = os.path.join(tmp, filename)
        with open(path, "wb") as f:
            f.write(data)
        try:
            sub = open_submission(path)
        except SubmissionError as exc:
            raise UploadError(str(exc).replace(path, filename)) from None
        try:
            if not any(files for _, _, files in os.walk(sub.root)):
                raise UploadError(Msg(N_("the archive holds no file")))
        finally:
            sub.cleanup()


def accept(files: list[tuple[str, bytes]], lim: Limits) -> Stored:
    """The upload as it will be stored and graded, or UploadError."""
    if not files:
        raise UploadError(Msg(N_("no file in the upload (send a .zip/.tar.gz or program files as form field"
                                  " 'files')")), 422)
    if len(files) > lim.max_files:
        raise UploadError(Msg.of(N_("{count} files in one upload; at most {most} are accepted"), count=len(files),
                                 most=lim.max_files))
    total = sum(len(d) for _, d in files)
    if total > lim.max_upload_bytes:
        raise UploadError(Msg.of(N_("the upload is {size} bytes; at most {most} are accepted"), size=total,
                                 most=lim.max_upload_bytes), 413)
    if len(files) == 1 and _archive_kind(files[0][0] or ""):
        name, data = files[0]
        suffix = _archive_kind(name)
        if suffix == ".zip":
            _check_zip(data, lim)
        else:
            _check_tar(data, suffix, lim)
        stored_name = "submission" + suffix
        _open_like_grading(data, stored_name)
        return Stored(stored_name, data)
    seen = set()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            base = name or ""
            if not _SAFE_NAME.match(base) or base in (".", ".."):
                raise UploadError(Msg.of(N_("file name {name} is not accepted (letters, digits, '._ +-', at most 128)"),
                                         name=repr(name)))
            if _archive_kind(base):
                raise UploadError(Msg.of(N_("{name}: an archive among other files; upload one archive, or loose files"),
                                         name=base))
            if base.lower() in seen:
                raise UploadError(Msg.of(N_("{name}: two files of the same name"), name=base))
            seen.add(base.lower())
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise UploadError(Msg.of(N_("{name}: neither an archive (.zip, .tar.gz) nor a text file; send"
                                            " binaries inside an archive"), name=base)) from None
            zf.writestr(base, data)
    return Stored("submission.zip", buf.getvalue())
