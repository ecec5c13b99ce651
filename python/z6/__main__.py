"""``python -m z6``: the same as the ``z6`` command (`z6._entry`: interrupts are
handled from its first statement)."""

import sys

from z6._entry import main

sys.exit(main())
