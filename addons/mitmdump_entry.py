"""Entry file for a stock mitmdump: ``mitmdump -s addons/mitmdump_entry.py``.

Options are the llm_dlp_* ones (``--set llm_dlp_rules=DIR`` ...); see docs/running.md."""

from llm_dlp.proxy.addon import LlmDlp

addons = [LlmDlp()]
