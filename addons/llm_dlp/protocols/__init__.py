"""Protocols: one module per API (see registry.py), each owning everything that API means to
llm-dlp — request extraction and structure-preserving write-back, tool-call pairing, the model,
where its key travels, response framing and deltas, and its error shape."""
