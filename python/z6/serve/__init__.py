"""The built-in target: a loopback HTTP/1.1 server for rehearsals and tests (`z6 serve`).

    from z6.serve import BuiltinTarget
    with BuiltinTarget(access_log="access.log") as target:
        print(target.base_url)          # http://127.0.0.1:<port>

`serve()` runs the server in this process until SIGINT or SIGTERM; `BuiltinTarget`
runs it in a child process. The routes (fixed body, delays, any status, chunked,
Connection: close, HTTP/1.0, reset, malformed, truncated, slow and trickled
responses, echo, huge headers) are described in docs/serve.md.
"""

from z6.serve._connection import DEFAULT_HEADER_TIMEOUT_S
from z6.serve._routes import FIXED_BODY
from z6.serve._server import loop_name, serve
from z6.serve._target import BuiltinTarget

__all__ = ["BuiltinTarget", "serve", "loop_name", "FIXED_BODY", "DEFAULT_HEADER_TIMEOUT_S"]
