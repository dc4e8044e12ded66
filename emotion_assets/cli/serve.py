"""`emotion-assets serve`: the web page for one recording on 127.0.0.1 (docs/app.md)."""

from __future__ import annotations

import argparse
import logging

from emotion_assets.foundation.quiet import quiet_library_noise


def main(argv: list[str] | None = None) -> int:
    quiet_library_noise()  # the entry point lowers library chatter (quiet.py)
    parser = argparse.ArgumentParser(
        prog="emotion-assets serve", description="the web page for one recording (docs/app.md)"
    )
    parser.add_argument("--host", default=None, help="address to bind (default: $EMOTION_APP_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (default: $EMOTION_APP_PORT)")
    parser.add_argument("--model", default=None, help="as for analyze (default: $EMOTION_MODEL)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from emotion_assets.app.server import serve

    return serve(host=args.host, port=args.port, model=args.model)
