"""mkdocs hooks: the figures in artifacts/ that the guides show.

The guides link them as `../artifacts/...` (right in a checkout and on a code host); the site
gets a copy of every linked figure under `artifacts/`, and the links are rewritten to it.
"""

from __future__ import annotations

import pathlib
import re

from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(\.\./(artifacts/[^)\s]+)\)")


def on_files(files, config):
    for path in sorted((ROOT / "artifacts").rglob("*.png")):
        files.append(File(str(path.relative_to(ROOT)), str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    depth = page.file.src_uri.count("/")
    return LINK.sub(lambda match: "](" + "../" * depth + match.group(1) + ")", markdown)
