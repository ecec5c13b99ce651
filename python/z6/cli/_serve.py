"""`z6 serve`: the built-in target in the foreground."""

from __future__ import annotations

import argparse

from z6._destinations import shown
from z6.cli._options import option
from z6.errors import EXIT_OK, ConfigError
from z6.serve import DEFAULT_HEADER_TIMEOUT_S, loop_name, serve

__all__ = ["register"]

_timeout = option(float, lambda v: 0 <= v < float("inf"), "a number of seconds, 0 or more (0: no limit)")
_port = option(int, lambda v: 0 <= v <= 65535, "a TCP port from 0 to 65535 (0: any free port)")


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve", help="run the built-in HTTP/1.1 target (loopback) until Ctrl-C",
        description="Run the built-in HTTP/1.1 target for rehearsals and tests; its routes are in docs/serve.md.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=_port, default=8080, help="TCP port, 0 for any free one (default 8080)")
    serve.add_argument("--access-log", metavar="FILE",
                       help="write one line per request to FILE (- for standard output): METHOD TARGET STATUS BODY_BYTES")
    serve.add_argument("--ready-file", metavar="FILE",
                       help="once listening, write the bound port to FILE (atomically; - for standard output); "
                            "removed on exit")
    serve.add_argument("--header-timeout", type=_timeout, default=DEFAULT_HEADER_TIMEOUT_S, metavar="S",
                       help=f"close a connection whose request head is not complete S seconds after it "
                            f"began, with 408 (default {DEFAULT_HEADER_TIMEOUT_S:g}; 0: no limit)")
    serve.add_argument("--tls", action="store_true",
                       help="serve HTTPS, with a self-signed certificate made at start for 127.0.0.1, ::1 and "
                            "localhost (needs the 'cryptography' package)")
    serve.add_argument("--cert-file", metavar="FILE",
                       help="with --tls: write the certificate (PEM) to FILE, for clients to trust (ca_file)")
    serve.set_defaults(handler=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    def announce(url: str) -> None:
        print(f"z6 serve: listening on {url} ({loop_name()}); Ctrl-C to stop", flush=True)
        if args.tls:
            print("z6 serve: self-signed certificate for 127.0.0.1, ::1 and localhost"
                  + (f" in {shown(args.cert_file)} (trust it: ca_file)" if args.cert_file else
                     " (--cert-file FILE saves it for clients to trust)"), flush=True)

    if args.cert_file and not args.tls:
        raise ConfigError("--cert-file needs --tls")
    requests = serve(host=args.host, port=args.port, access_log=args.access_log,
                     ready_file=args.ready_file, on_listening=announce,
                     header_timeout_s=args.header_timeout or None, tls=args.tls, cert_file=args.cert_file)
    print(f"z6 serve: stopped after {requests} request{'' if requests == 1 else 's'}", flush=True)
    return EXIT_OK
