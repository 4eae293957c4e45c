"""The frame of every HTML page the report writes: a complete document that stands alone.

Each page has a doctype, ``<meta charset="utf-8">``, a title, the SYNTHETIC DATA banner when the data
are synthetic, and a link back to the report's index. The style keeps wide tables inside a
1,400-pixel page (small type, numbers right-aligned, long text cells wrapped, a horizontal scroll bar
as the last resort).
"""

from __future__ import annotations

from html import escape

import pandas as pd

from psm.newchance.report.formatting import is_number_text

__all__ = ["SYNTHETIC_WARNING", "STYLE", "document", "html_table"]

SYNTHETIC_WARNING = "every number here comes from made-up people, not from the New Chance evaluation."

#: The pages' style sheet.
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1360px;margin:1.5em auto;
 padding:0 20px;color:#1f1f1f;line-height:1.45}
h1{font-size:1.7em;margin:.3em 0}h2{font-size:1.3em;margin-top:1.6em;border-bottom:1px solid #ddd}
nav.back{font-size:.95em;margin-bottom:.8em}
.banner{background:#b00020;color:#fff;font-weight:bold;padding:.6em .8em;font-size:1.15em}
.note{background:#f6f8fa;border-left:4px solid #8a8a8a;padding:.5em .9em;margin:1em 0}
.wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.88em;margin:.5em 0}
td,th{border:1px solid #d0d0d0;padding:.25em .5em;vertical-align:top}
th{background:#f3f3f3;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.text{max-width:22em}
caption{caption-side:top;text-align:left;font-weight:bold;padding:.3em 0}
figure{display:inline-block;vertical-align:top;margin:.6em;width:420px}
figure.wide{display:block;width:auto;max-width:1300px}
figure img{width:100%;border:1px solid #ddd}
figcaption{font-size:.85em}
.headline td,.headline th{font-size:1.05em;padding:.35em .7em}
.answer{font-size:1.12em;max-width:60em}
"""


def document(title: str, body: str, *, synthetic: bool, back: str | None = None) -> str:
    """A complete HTML page: ``body`` (HTML) under a title, the banner if ``synthetic``, and a link
    ``back`` (relative URL of the index; None on the index itself)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
    ]
    if back is not None:
        parts.append(f'<nav class="back"><a href="{escape(back)}">← Back to the report index</a></nav>')
    if synthetic:
        parts.append(f'<p class="banner">SYNTHETIC DATA: {escape(SYNTHETIC_WARNING)}</p>')
    parts += [body, "</body></html>"]
    return "\n".join(parts) + "\n"


def html_table(shown: pd.DataFrame, *, caption: str | None = None) -> str:
    """A table of strings (:func:`psm.newchance.report.formatting.format_table`) as HTML: numbers
    right-aligned, text wrapped."""
    rows = ["<div class=\"wrap\"><table>"]
    if caption:
        rows.append(f"<caption>{escape(caption)}</caption>")
    rows.append("<tr>" + "".join(f"<th>{escape(str(c))}</th>" for c in shown.columns) + "</tr>")
    for values in shown.itertuples(index=False):
        cells = [f'<td class="{"num" if is_number_text(str(v)) else "text"}">{escape(str(v))}</td>' for v in values]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table></div>")
    return "\n".join(rows)
