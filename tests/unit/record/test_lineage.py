"""Lineage: code a model generated through the proxy is found in a working tree afterwards,
re-indented, with the right provenance; echoed and unrelated code is not attributed."""

from __future__ import annotations

import textwrap

from llm_dlp.record.lineage import Fingerprinter, LineageRecorder, index_audit, scan_file

CODE = """def settle_invoice(invoice, ledger):
    total = sum(line.amount * line.quantity for line in invoice.lines)
    ledger.post(invoice.customer_id, total, memo=f"invoice {invoice.number}")
    invoice.mark_settled(total)
    return total
"""


def test_recorder_skips_echoed_lines_and_scan_needs_a_run(tmp_path):
    fp = Fingerprinter(b"k" * 32)
    echoed_line = "    total = sum(line.amount * line.quantity for line in invoice.lines)"
    rec = LineageRecorder(fp, [echoed_line], whole_is_code=False)
    rec.add(f"Here:\n```python\n{CODE}```\nDone.", is_json=False)
    (gen,) = rec.generations
    assert gen.language == "python" and len(gen.lines) == 4  # the echoed line is not "generated"
    index = index_audit(
        [
            {
                "event": "request",
                "generated": [gen.to_dict()],
                "model": "m1",
                "endpoint": "e",
                "tool": "t",
                "user": "u",
                "ts": "2026-11-23T10:00:00Z",
            }
        ]
    )
    f = tmp_path / "a.py"
    f.write_text("import os\n\n" + textwrap.indent(CODE, "        ") + "\nprint('x')\n")
    (m,) = scan_file(f, "a.py", index, fp)
    assert (m.start, m.end, m.provenance.model) == (5, 7, "m1")  # line 4 was echoed, line 3 alone is no run
    g = tmp_path / "b.py"
    g.write_text(CODE.splitlines()[0] + "\n" + "x = 1\n" * 3)  # one shared line is no attribution
    assert scan_file(g, "b.py", index, fp) == []
