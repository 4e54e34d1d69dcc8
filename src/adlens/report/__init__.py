"""The HTML report of a run directory: `build_report(run_dir)` writes RUN_DIR/report.html (one
offline file), `screenshot(run_dir)` renders it to RUN_DIR/report.png with headless Chromium."""

from adlens.report.browser import find_chromium, screenshot
from adlens.report.build import build_report, render_report

__all__ = ["build_report", "find_chromium", "render_report", "screenshot"]
