"""The visual part of the version diff page: which elements of the two main diagrams to colour.

``diagram_marks(diff, url_a, url_b)`` turns :func:`app.services.process_diff.diff_versions` output
into the config of ``static/js/diffviewer.js``: the two versions' diagram URLs and, per side, element
id → status (``added`` / ``changed`` / ``moved`` on the new side, ``removed`` / ``changed`` /
``moved`` on the old side). Files are split so the page can collapse the unchanged ones.
"""

from __future__ import annotations


def diagram_marks(diff: dict, url_a: str, url_b: str) -> dict:
    main_b = diff["b"]["main_file"]
    main_a = diff["a"]["main_file"]
    marks_a: dict[str, str] = {}
    marks_b: dict[str, str] = {}
    for entry in diff["files"]:
        if entry["filename"] not in (main_a, main_b) or not entry.get("diff"):
            continue
        for item in entry["diff"]["items"]:
            if item["status"] == "added":
                marks_b[item["id"]] = "added"
            elif item["status"] == "removed":
                marks_a[item["id"]] = "removed"
            else:
                marks_a[item["id"]] = marks_b[item["id"]] = "changed"
        for item in entry["diff"].get("moved", []):
            marks_a.setdefault(item["id"], "moved")
            marks_b.setdefault(item["id"], "moved")
    return {"a": {"url": url_a, "marks": marks_a}, "b": {"url": url_b, "marks": marks_b}}


def split_files(files: list[dict]) -> tuple[list[dict], list[dict]]:
    """(changed files, unchanged files) — changed first, diagrams before forms."""
    changed = [f for f in files if f["status"] != "same"]
    changed.sort(key=lambda f: (f["kind"] not in ("bpmn", "dmn"), f["filename"]))
    return changed, [f for f in files if f["status"] == "same"]
