"""``python -m amtterm``."""

import sys

from amtterm.cli import main

sys.exit(main())
