"""`python -m cli`: the `writer` command, run from a checkout."""

import sys

from cli import main

sys.exit(main())
