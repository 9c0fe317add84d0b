"""Running one mitmproxy hook on an addon and its children, as the proxy would (in-process tests)."""

from __future__ import annotations

from mitmproxy.proxy.layers.http import HttpRequestHeadersHook, HttpRequestHook, HttpResponseHeadersHook, HttpResponseHook
from mitmproxy.test import taddons

HOOKS = {
    "requestheaders": HttpRequestHeadersHook,
    "request": HttpRequestHook,
    "responseheaders": HttpResponseHeadersHook,
    "response": HttpResponseHook,
}


async def hook(tctx: taddons.context, name: str, flow) -> None:
    """Every addon's ``name`` hook, nested addons included, in the order mitmproxy calls them."""
    await tctx.master.addons.handle_lifecycle(HOOKS[name](flow))
