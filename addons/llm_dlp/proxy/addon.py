"""The mitmproxy addon: a facade whose ``addons`` are one class per concern, composed the way
mitmproxy composes its own. Hooks run in this order for each event, sharing state through the
flow's metadata (:class:`~llm_dlp.proxy.state.FlowState`) and one :class:`~llm_dlp.proxy.state.Runtime`.

requestheaders: classify (catalog) → strict segment → identify → authorise → WebSocket upgrades
checked; request: inspect; responseheaders / response: respond (stream and restore); response /
error: record (one audit record, metrics); websocket_start / websocket_message / websocket_end:
every message inspected, one audit record per connection. Every hook catches its own errors and
answers the flow itself: mitmproxy would log an exception and let the flow go on, which for a DLP
proxy means forwarding uninspected data."""

from __future__ import annotations

from llm_dlp.proxy.authorize import Authorize
from llm_dlp.proxy.classify import Classify
from llm_dlp.proxy.config import Configuration
from llm_dlp.proxy.identify import Identify
from llm_dlp.proxy.inspect import Inspect
from llm_dlp.proxy.record import Record
from llm_dlp.proxy.reload import Reloader
from llm_dlp.proxy.respond import Respond
from llm_dlp.proxy.segment import StrictSegment
from llm_dlp.proxy.shutdown import Shutdown
from llm_dlp.proxy.state import Runtime
from llm_dlp.proxy.websocket import WebSocketInspection


class LlmDlp:
    def __init__(self) -> None:
        self.runtime = Runtime()
        self.reloader = Reloader(self.runtime)
        self.addons = [
            Configuration(self.runtime),
            self.reloader,
            Shutdown(self.runtime, self.reloader),
            Classify(self.runtime),
            StrictSegment(self.runtime),
            Identify(self.runtime),
            Authorize(self.runtime),
            WebSocketInspection(self.runtime),
            Inspect(self.runtime),
            Respond(self.runtime),
            Record(self.runtime),
        ]
