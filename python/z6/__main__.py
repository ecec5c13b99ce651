"""``python -m z6``: the same as the ``z6`` command."""

import sys

from z6.cli import main

sys.exit(main())
