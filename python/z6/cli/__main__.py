"""`python -m z6.cli`: the same as `z6` and `python -m z6` (whose entry, `z6._entry`,
also covers the package's imports: here the z6.cli package is imported first)."""

import sys

from z6._entry import main

sys.exit(main())
