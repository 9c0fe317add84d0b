"""A self-contained HTML governance report from audit records: adoption by tool, model and
group over time, findings and blocks by rule, refusals, unapproved packages. Charts are
inline SVG: no scripts, no external files, so it opens anywhere and prints cleanly."""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Iterable

PALETTE = ["#3b6fb6", "#e07b39", "#4f9d69", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]


def _e(text: object) -> str:
    return html.escape(str(text))


def bar_chart(title: str, counts: Counter, width: int = 560) -> str:
    """Horizontal bars, largest first (top 15)."""
    items = counts.most_common(15)
    if not items:
        return f"<section><h2>{_e(title)}</h2><p class='empty'>No data.</p></section>"
    top = max(v for _, v in items)
    row, label_w = 22, 200
    bars = []
    for i, (label, value) in enumerate(items):
        w = max(1, int((width - label_w - 60) * value / top))
        y = i * row
        bars.append(
            f"<text x='{label_w - 6}' y='{y + 15}' text-anchor='end'>{_e(label)}</text>"
            f"<rect x='{label_w}' y='{y + 3}' width='{w}' height='{row - 6}' fill='{PALETTE[0]}'><title>{_e(label)}: {value}</title></rect>"
            f"<text x='{label_w + w + 4}' y='{y + 15}'>{value}</text>"
        )
    h = row * len(items)
    return (
        f"<section><h2>{_e(title)}</h2><svg class='chart' role='img' aria-label='{_e(title)}' width='{width}' height='{h}' "
        f"viewBox='0 0 {width} {h}'>{''.join(bars)}</svg></section>"
    )


def stacked_days(title: str, by_day: dict[str, Counter], width: int = 760, height: int = 220) -> str:
    """Requests per day, stacked by a label (tool, model or group), with a legend."""
    days = sorted(by_day)
    if not days:
        return f"<section><h2>{_e(title)}</h2><p class='empty'>No data.</p></section>"
    labels = [k for k, _ in sum(by_day.values(), Counter()).most_common(len(PALETTE))]
    top = max(sum(c.values()) for c in by_day.values())
    slot = (width - 40) / len(days)
    bar = max(min(slot - 4, 48), 1)
    parts = []
    for i, day in enumerate(days):
        y = float(height - 20)
        for j, label in enumerate(labels):
            v = by_day[day].get(label, 0)
            if not v:
                continue
            h = (height - 40) * v / top
            y -= h
            parts.append(
                f"<rect x='{30 + i * slot + (slot - bar) / 2:.1f}' y='{y:.1f}' width='{bar:.1f}' height='{h:.1f}' fill='{PALETTE[j]}'>"
                f"<title>{_e(day)} {_e(label)}: {v}</title></rect>"
            )
        if len(days) <= 31:
            parts.append(
                f"<text x='{30 + i * slot + slot / 2:.1f}' y='{height - 5}' text-anchor='middle' class='small'>{_e(day[5:])}</text>"
            )
    parts.append(f"<text x='0' y='14' class='small'>{top}</text>")
    legend = "".join(f"<span><i style='background:{PALETTE[j]}'></i>{_e(label)}</span>" for j, label in enumerate(labels))
    return (
        f"<section><h2>{_e(title)}</h2><svg class='chart' role='img' aria-label='{_e(title)}' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}'>{''.join(parts)}</svg><div class='legend'>{legend}</div></section>"
    )


def render(records: Iterable[dict]) -> str:
    requests = [r for r in records if r.get("event") == "request"]
    by_tool: dict[str, Counter] = defaultdict(Counter)
    by_model: dict[str, Counter] = defaultdict(Counter)
    by_group: dict[str, Counter] = defaultdict(Counter)
    findings: Counter[str] = Counter()
    blocks: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    packages: Counter[tuple[str, str, str]] = Counter()
    decisions: Counter[str] = Counter()
    users: set[str] = set()
    for r in requests:
        day = (r.get("ts") or "")[:10]
        by_tool[day][r.get("tool", "unknown")] += 1
        by_model[day][r.get("served_model") or r.get("model") or "unknown"] += 1
        for g in r.get("groups") or ["(no group)"]:
            by_group[day][g] += 1
        decisions[str(r.get("decision"))] += 1
        if r.get("user"):
            users.add(r["user"])
        for f in r.get("findings", []):
            findings[f["rule"]] += 1
            if f["action"] == "block":
                blocks[f["rule"]] += 1
        if r.get("decision") == "refuse":
            refused[f"{r.get('endpoint')} ({r.get('reason')})"] += 1
        for p in r.get("packages", []):
            packages[(p["ecosystem"], p["name"], p["status"])] += 1
    period = f"{min(by_tool)} to {max(by_tool)}" if by_tool else "no requests"
    summary = "".join(
        f"<div class='kpi'><b>{_e(v)}</b><span>{_e(k)}</span></div>"
        for k, v in [
            ("requests", len(requests)),
            ("users", len(users)),
            ("redacted", decisions["redact"]),
            ("blocked", decisions["block"]),
            ("refused", decisions["refuse"]),
            ("inspection errors", decisions["error"]),
        ]
    )
    package_rows = (
        "".join(
            f"<tr><td>{_e(eco)}</td><td><code>{_e(name)}</code></td><td>{_e(status)}</td><td>{n}</td></tr>"
            for (eco, name, status), n in packages.most_common(50)
        )
        or "<tr><td colspan='4' class='empty'>None.</td></tr>"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>llm-dlp governance report</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}}
h1{{margin-bottom:0}} .period{{color:#666;margin-top:.2em}}
section{{break-inside:avoid;margin:1.5em 0}} h2{{font-size:1.1em;border-bottom:1px solid #ddd}}
svg.chart text{{font-size:12px;fill:#333}} svg .small{{font-size:10px;fill:#666}}
.kpis{{display:flex;gap:1em;flex-wrap:wrap}} .kpi{{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:8em}}
.kpi b{{display:block;font-size:1.6em}} .kpi span{{color:#666}}
.legend span{{margin-right:1em;font-size:12px}} .legend i{{display:inline-block;width:10px;height:10px;margin-right:4px}}
.grid{{display:grid;grid-template-columns:1fr 1fr;gap:1em}} table{{border-collapse:collapse}} td,th{{padding:.2em .8em;border-bottom:1px solid #eee;text-align:left}}
.empty{{color:#888}}
</style></head><body>
<h1>AI coding assistants: governance report</h1><p class="period">{_e(period)} · from llm-dlp audit records</p>
<div class="kpis">{summary}</div>
{stacked_days("Adoption by tool (requests per day)", by_tool)}
{stacked_days("Adoption by model", by_model)}
{stacked_days("Adoption by group", by_group)}
<div class="grid">{bar_chart("Findings by rule", findings)}{bar_chart("Blocks by rule", blocks)}</div>
{bar_chart("Top refused endpoints (reason)", refused)}
<section><h2>Unapproved packages suggested by models</h2><table><tr><th>ecosystem</th><th>package</th><th>status</th><th>times</th></tr>{package_rows}</table></section>
</body></html>
"""
