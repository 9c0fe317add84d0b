"""The tests' fake LLM upstream (conftest.serve_upstream) as a process of its own, to run inside
a network namespace:

    python tests/fake_llm.py --listen 10.77.2.2:443 --ca ca.pem --cert server.pem --key server.key \\
        --received received.jsonl [--udp 443 --udp 53 --udp-log udp.log]

Every request body it receives is appended to --received as a JSON line; every UDP datagram to
an --udp port is logged as "port<TAB>payload"."""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script inside a namespace

from support.pki import PKI
from support.upstream import serve_upstream


def log_udp(host: str, port: int, log: Path) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, port))
    while True:
        data, _ = sock.recvfrom(65535)
        with open(log, "a") as f:
            f.write(f"{port}\t{data.decode(errors='replace')}\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--ca", type=Path, required=True)
    ap.add_argument("--cert", type=Path, required=True)
    ap.add_argument("--key", type=Path, required=True)
    ap.add_argument("--received", type=Path, required=True)
    ap.add_argument("--udp", type=int, action="append", default=[])
    ap.add_argument("--udp-log", type=Path)
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    _server, upstream = serve_upstream(PKI(args.ca, args.cert, args.key), host, int(port))
    for udp_port in args.udp:
        threading.Thread(target=log_udp, args=(host, udp_port, args.udp_log), daemon=True).start()
    print("serving", flush=True)
    written = 0
    while True:  # the handler keeps bodies in memory; copy new ones to the file
        time.sleep(0.02)
        for received in upstream.received[written:]:
            with open(args.received, "a") as f:
                f.write(json.dumps({"path": received.path, "body": received.body.decode(errors="replace")}) + "\n")
            written += 1


if __name__ == "__main__":
    main()
