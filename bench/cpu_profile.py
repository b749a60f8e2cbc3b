"""Where a page's main thread spends its time: a CDP CPU profile summed by function, mapped through the
bundle's source map to the TypeScript (or rrweb) function it came from. Used by bench/visitor_cost.py
``--profile`` to find what recording costs on the page.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src/cobrowse/static"
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def _vlq(segment: str) -> list[int]:
    values, shift, value = [], 0, 0
    for char in segment:
        digit = _B64[char]
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
        else:
            values.append(-(value >> 1) if value & 1 else value >> 1)
            shift = value = 0
    return values


class SourceMap:
    """Generated (line, column) -> original (source, line, the line's text), for a source map v3 file."""

    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self.sources: list[str] = data["sources"]
        self.contents: list[str | None] = data.get("sourcesContent") or [None] * len(self.sources)
        self.lines: list[list[tuple[int, int, int]]] = []
        src = src_line = 0
        for line in data["mappings"].split(";"):
            col, segments = 0, []
            for seg in filter(None, line.split(",")):
                fields = _vlq(seg)
                col += fields[0]
                if len(fields) >= 4:
                    src += fields[1]
                    src_line += fields[2]
                    segments.append((col, src, src_line))
            self.lines.append(segments)

    def lookup(self, line: int, column: int) -> tuple[str, int, str]:
        segments = self.lines[line] if 0 <= line < len(self.lines) else []
        best = None
        for seg in segments:
            if seg[0] > column:
                break
            best = seg
        if best is None:
            return ("?", 0, "")
        _, src, src_line = best
        content = self.contents[src]
        text = content.splitlines()[src_line].strip() if content else ""
        name = self.sources[src].replace("../node_modules/", "").replace("../web/", "web/")
        return (name, src_line + 1, text[:90])


def summarize(profile: dict[str, Any], seconds: float, top: int = 30) -> str:
    """Markdown tables, ms per second of the profile, largest first: self time per function, per source file,
    and all time per entry point (the outermost script function of each sample's stack: a MutationObserver
    callback, a timer, an event listener), which tells which observer or task the time belongs to."""
    maps: dict[str, SourceMap | None] = {}
    by_id = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", ())}

    def place_of(node_id: int) -> tuple[str, int, str, str]:
        frame = by_id[node_id]["callFrame"]
        url, name = frame.get("url", ""), frame.get("functionName") or "(anonymous)"
        if url.endswith(".js") and "/static/" in url:
            bundle = url.rsplit("/", 1)[1]
            if bundle not in maps:
                path = STATIC / (bundle + ".map")
                maps[bundle] = SourceMap(path) if path.exists() else None
            smap = maps[bundle]
            source, line, text = (
                smap.lookup(frame["lineNumber"], frame["columnNumber"]) if smap else (bundle, 0, "")
            )
            return (source, line, text, name)
        return (url.rsplit("/", 1)[-1] or name, frame.get("lineNumber", 0) + 1, "", name)

    def entry_of(node_id: int) -> tuple[str, int, str, str]:
        outermost = node_id
        while node_id in parent:
            if by_id[node_id]["callFrame"].get("url"):
                outermost = node_id
            node_id = parent[node_id]
        return place_of(outermost)

    self_us: dict[int, float] = defaultdict(float)
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        self_us[node_id] += delta
    by_place: dict[tuple[str, int, str, str], float] = defaultdict(float)
    by_file: dict[str, float] = defaultdict(float)
    by_entry: dict[tuple[str, int, str, str], float] = defaultdict(float)
    for node_id, us in self_us.items():
        place = place_of(node_id)
        by_place[place] += us
        by_file[place[0]] += us
        by_entry[entry_of(node_id)] += us

    def rows(table: dict[tuple[str, int, str, str], float]) -> list[str]:
        return [
            f"| {us / 1000 / seconds:.1f} | {source} | {line} | `{text or name}` ({name}) |"
            for (source, line, text, name), us in sorted(table.items(), key=lambda kv: -kv[1])[:top]
        ]

    lines = ["| self ms/s | source | line | function (minified name) |", "|---|---|---|---|", *rows(by_place)]
    lines += ["", "| self ms/s | source file |", "|---|---|"]
    for source, us in sorted(by_file.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"| {us / 1000 / seconds:.1f} | {source} |")
    lines += ["", "| all ms/s | entry point source | line | function (minified name) |", "|---|---|---|---|"]
    lines += rows(by_entry)
    return "\n".join(lines)
