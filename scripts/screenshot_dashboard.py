"""A screenshot of optuna-dashboard showing an exported study, for docs/tools.md.

Starts `optuna-dashboard` on 127.0.0.1 over STORAGE, loads the study's page in a headless
Chromium (Qt WebEngine, offscreen: `pip install PyQt6-WebEngine`, not a kerashp dependency),
waits for its plots to draw and saves the page as a PNG.

    kerashp export optuna OUT --storage /tmp/study.db
    python scripts/screenshot_dashboard.py sqlite:////tmp/study.db docs/images/optuna-dashboard.png
"""

from __future__ import annotations

import argparse
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("storage", help="the exported storage (sqlite:///FILE.db or a journal file)")
    parser.add_argument("png", help="where to save the screenshot")
    parser.add_argument("--study-id", type=int, default=1)
    parser.add_argument("--size", default="1400x1000", help="WIDTHxHEIGHT of the page")
    parser.add_argument("--wait", type=float, default=8.0, help="seconds for the page's plots to draw")
    args = parser.parse_args(argv)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dashboard = pathlib.Path(sys.executable).with_name("optuna-dashboard")
    server = subprocess.Popen([str(dashboard), args.storage, "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/meta", timeout=2)
                break
            except OSError:
                time.sleep(0.25)
        width, height = (int(v) for v in args.size.split("x"))
        return shoot(f"http://127.0.0.1:{port}/dashboard/studies/{args.study_id}", args.png, width, height,
                     int(args.wait * 1000))
    finally:
        server.terminate()
        server.wait(timeout=30)


def shoot(url: str, png: str, width: int, height: int, wait_ms: int) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --no-sandbox")
    from PyQt6.QtCore import QSize, QTimer, QUrl
    from PyQt6.QtWebEngineWidgets import QWebEngineView
    from PyQt6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    view = QWebEngineView()
    view.resize(QSize(width, height))
    view.show()
    saved = []

    def grab() -> None:
        saved.append(view.grab().save(png))
        app.quit()

    view.loadFinished.connect(lambda ok: QTimer.singleShot(wait_ms, grab))
    view.load(QUrl(url))
    QTimer.singleShot(wait_ms + 60_000, app.quit)
    app.exec()
    if not saved or not saved[0]:
        print(f"no screenshot of {url}", file=sys.stderr)
        return 1
    print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
