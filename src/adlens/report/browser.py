"""Headless Chromium for the report: a PNG screenshot, and the rendered DOM (which tests read
to check that the page drew its figures without JavaScript errors).

Chromium is optional: without it `screenshot` logs a note and returns None.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from adlens.report.build import REPORT_NAME, build_report

log = logging.getLogger(__name__)

ENV_CHROMIUM = "ADLENS_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# Virtual time lets the page finish its scripts before the dump or the screenshot, without
# waiting on the wall clock.
BUDGET_MS = 15000


def find_chromium() -> str | None:
    """$ADLENS_CHROMIUM, else the first Chromium or Chrome on PATH."""
    env = os.environ.get(ENV_CHROMIUM)
    if env:
        return shutil.which(env) or (env if Path(env).is_file() else None)
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run_headless(binary: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="adlens-chromium-") as profile:
        cmd = [
            binary,
            "--headless",
            # The sandbox refuses to start as root or without user namespaces (containers); the
            # page is our own local file with no network access.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--mute-audio",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={BUDGET_MS}",
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def dump_dom(html: Path | str, *, binary: str | None = None, timeout: float = 180) -> str:
    """The page's DOM after its scripts ran (Chromium's --dump-dom). Raises RuntimeError when
    Chromium is missing or fails."""
    binary = binary or find_chromium()
    if binary is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    proc = _run_headless(binary, ["--dump-dom", Path(html).resolve().as_uri()], timeout)
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise RuntimeError(f"chromium failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def js_errors(dom: str) -> list[str]:
    """What the page's error hook wrote into #js-errors (empty: no errors)."""
    m = re.search(r'<div[^>]*id="js-errors"[^>]*>(.*?)</div>', dom, re.S)
    text = m.group(1).strip() if m else "the page's error hook is missing"
    return [line for line in text.splitlines() if line.strip()]


def rendered_figures(dom: str) -> tuple[int, int]:
    """(figures the page holds, figures Plotly finished drawing)."""
    m = re.search(r'<div([^>]*id="render-status"[^>]*)>', dom)
    attrs = m.group(1) if m else ""

    def attr(name: str) -> int:
        a = re.search(rf'{name}="(\d+)"', attrs)
        return int(a.group(1)) if a else -1

    return attr("data-expected"), attr("data-rendered")


def screenshot(
    run_dir: Path | str,
    *,
    width: int = 1280,
    height: int = 2000,
    html: Path | str | None = None,
    out: Path | str | None = None,
    timeout: float = 180,
) -> Path | None:
    """RUN_DIR/report.png: the first `height` pixels at `width` of the report (`html`, default
    RUN_DIR/report.html, built first if missing). Without Chromium, or when it fails, a logged
    note and None."""
    run_dir = Path(run_dir)
    binary = find_chromium()
    if binary is None:
        log.info(
            "report: no Chromium found, so no screenshot (install it with `apt-get install "
            "chromium`, or set %s); the report itself is %s",
            ENV_CHROMIUM,
            run_dir / REPORT_NAME,
        )
        return None
    html = Path(html) if html is not None else run_dir / REPORT_NAME
    if not html.is_file():
        html = build_report(run_dir, html)
    png = Path(out) if out is not None else run_dir / "report.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target, then renamed: a failed run never leaves a half-written PNG.
    tmp = png.with_name(f".{png.name}.tmp.png")
    try:
        proc = _run_headless(
            binary,
            [
                f"--screenshot={tmp.resolve()}",
                f"--window-size={width},{height}",
                html.resolve().as_uri(),
            ],
            timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        log.warning("report: screenshot failed (%s)", err)
        tmp.unlink(missing_ok=True)
        return None
    if proc.returncode != 0 or not tmp.is_file():
        log.warning("report: screenshot failed: %s", proc.stderr.strip()[-500:])
        tmp.unlink(missing_ok=True)
        return None
    os.replace(tmp, png)
    log.info("report: screenshot %s", png)
    return png
