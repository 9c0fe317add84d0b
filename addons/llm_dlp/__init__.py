"""llm-dlp: a data loss prevention egress proxy for LLM traffic."""

__version__ = "0.1.0"
