"""`python -m agent.cli`: the `writer` command, run from a checkout."""

import sys

from agent.cli import main

sys.exit(main())
