"""`python -m z6.cli`: the same as `z6` and `python -m z6`."""

import sys

from z6.cli import main

sys.exit(main())
