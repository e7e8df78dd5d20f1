"""``netgrade submit``: upload a submission to a netgrade service, follow it, print the result.

Runs on Windows, macOS and Linux: it imports nothing Linux-only (only the
standard library, httpx, rich and netgrade's result and table modules).

Exit status, as ``netgrade check``: 0 every must and should check passed,
1 some did not (or grading ended in error), 2 bad input or a refused upload
(the reason on stderr); ``--no-wait`` exits 0 once the upload is accepted.
"""
from __future__ import annotations

import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

import httpx

EXIT_BAD_INPUT = 2
ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar")
#: seconds an upload is sent again while the service answers 503 (busy), as its Retry-After says
BUSY_S = 120.0
SKIP_DIRS = {"__pycache__", ".git", ".svn", "node_modules", "__MACOSX", ".venv", "venv", ".idea", ".vscode"}


class ClientError(Exception):
    """A refusal or an unreachable server; one line."""


def pack(path: str) -> tuple[str, bytes]:
    """(file name, bytes): an archive as it is, a folder zipped (without caches and VCS folders)."""
    p = Path(path)
    if p.is_file():  # an archive, or one program file
        return p.name, p.read_bytes()
    if not p.is_dir():
        raise ClientError(f"{path}: no such file or folder")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for root, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(files):
                full = Path(root) / name
                if full.is_symlink():
                    continue
                zf.write(full, full.relative_to(p).as_posix())
    return (p.resolve().name or "submission") + ".zip", buf.getvalue()


def _reason(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("error", resp.text[:300]))
    except ValueError:
        return resp.text[:300] or resp.reason_phrase


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return min(60.0, max(0.0, float(resp.headers["retry-after"])))
    except (KeyError, ValueError):
        return None


class Service:
    def __init__(self, server: str, token: str, timeout: float = 60.0) -> None:
        self.http = httpx.Client(base_url=server.rstrip("/"), timeout=timeout,
                                 headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, url: str, **kw) -> httpx.Response:
        try:
            return self.http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise ClientError(f"cannot reach {self.http.base_url}: {exc}") from None

    def upload(self, filename: str, data: bytes, note=None, busy_s: float = BUSY_S) -> dict:
        """POST the submission; a 503 (the service's database busy, nothing stored) is sent again after the
        Retry-After the service gives, for at most ``busy_s`` seconds, each time said through ``note``."""
        deadline = time.monotonic() + busy_s
        while True:
            resp = self._call("POST", "/api/submissions",
                              files=[("files", (filename, data, "application/octet-stream"))])
            wait_s = _retry_after(resp)
            if resp.status_code != 503 or wait_s is None or time.monotonic() + wait_s > deadline:
                break
            if note is not None:
                note(f"the service is busy (503: {_reason(resp)}); sending again in {wait_s:g} s")
            time.sleep(wait_s)  # the service's own Retry-After: a busy database sends no event to wait for
        if resp.status_code != 202:
            extra = f" (retry after {resp.headers['retry-after']} s)" if "retry-after" in resp.headers else ""
            raise ClientError(f"upload refused ({resp.status_code}): {_reason(resp)}{extra}")
        return resp.json()

    def status(self, sub_id: str) -> dict:
        resp = self._call("GET", f"/api/submissions/{sub_id}")
        if resp.status_code != 200:
            raise ClientError(f"status of {sub_id}: {resp.status_code} {_reason(resp)}")
        return resp.json()


def wait(svc: Service, sub_id: str, timeout: float, show) -> dict:
    """Follow the submission's Server-Sent Events until it is done or failed; the full status comes last.

    A dropped stream (a proxy's idle timeout, a service restart) is opened
    again until ``timeout``: the database keeps the submission meanwhile.
    """
    deadline = time.monotonic() + timeout
    last: dict | None = None
    while time.monotonic() < deadline:
        try:
            with svc.http.stream("GET", f"/api/submissions/{sub_id}/events",
                                 timeout=httpx.Timeout(30, read=max(1.0, deadline - time.monotonic()))) as resp:
                if resp.status_code != 200:
                    resp.read()
                    raise ClientError(f"status of {sub_id}: {resp.status_code} {_reason(resp)}")
                for line in resp.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    last = json.loads(line[6:])
                    show(last)
                    if last["state"] in ("done", "failed"):
                        return svc.status(sub_id)
        except (httpx.TransportError, ValueError):
            pass  # the stream broke: open it again (bounded by the deadline)
        if time.monotonic() < deadline:
            st = svc.status(sub_id)  # raises ClientError when the service is gone for good
            show(st)
            if st["state"] in ("done", "failed"):
                return st
            last = st
    raise ClientError(f"no result after {timeout:g} s (state: {last['state'] if last else '?'}); "
                      f"ask again later: GET /api/submissions/{sub_id}")


def submit(path: str, server: str, token: str | None, json_file: str | None, no_wait: bool,
           timeout: float = 3600.0, out=None) -> int:
    from rich.console import Console
    console = out or Console(highlight=False, stderr=False)
    err = Console(stderr=True, highlight=False)
    token = token or os.environ.get("NETGRADE_TOKEN")
    if not token:
        err.print("netgrade: error: no token: --token T or NETGRADE_TOKEN", markup=False, soft_wrap=True)
        return EXIT_BAD_INPUT
    svc = Service(server, token)
    try:
        try:
            filename, data = pack(path)
            st = svc.upload(filename, data, note=lambda line: err.print(f"netgrade: {line}", markup=False,
                                                                        soft_wrap=True))
        except ClientError as exc:
            err.print(f"netgrade: error: {exc}", markup=False, soft_wrap=True)
            return EXIT_BAD_INPUT
        console.print(st["id"], markup=False, highlight=False, soft_wrap=True)
        if no_wait:
            return 0
        final = _follow(svc, st["id"], timeout, err)
    except ClientError as exc:
        err.print(f"netgrade: error: {exc}", markup=False, soft_wrap=True)
        return EXIT_BAD_INPUT
    finally:
        svc.close()
    from ..results import Result
    from ..terminal import render
    result = final.get("result")
    if result is None:
        err.print(f"netgrade: error: {final['state']} without a result: {final.get('message', '')}",
                  markup=False, soft_wrap=True)
        return 1
    if json_file:
        Path(json_file).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    r = Result.from_dict(result)
    render(r, out=console)
    if final["state"] == "failed":
        err.print(f"netgrade: {final.get('message', '')}", markup=False, soft_wrap=True)
    return r.exit_code()


def _follow(svc: Service, sub_id: str, timeout: float, err) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("queued", total=None)

        def show(st: dict) -> None:
            if st["state"] == "queued":
                eta = f", about {st['eta_s']:.0f} s" if st.get("eta_s") else ""
                desc = f"queued: position {st.get('position')}{eta}"
            elif st["state"] == "running" and st.get("checks"):
                key, verdict = st["checks"][-1]  # the check that finished last
                desc = f"running: {key} {verdict}"
            else:
                desc = st["state"]
            bar.update(task, description=desc, total=st.get("total"), completed=st.get("done") or 0)
        return wait(svc, sub_id, timeout, show)


def main(argv: list[str] | None = None) -> int:  # python -m netgrade.service.client (no click needed)
    import argparse
    ap = argparse.ArgumentParser(prog="netgrade submit")
    ap.add_argument("path")
    ap.add_argument("--server", required=True)
    ap.add_argument("--token", default=None)
    ap.add_argument("--json", dest="json_file", default=None)
    ap.add_argument("--no-wait", action="store_true")
    a = ap.parse_args(argv)
    return submit(a.path, a.server, a.token, a.json_file, a.no_wait)


if __name__ == "__main__":
    sys.exit(main())
