"""``python -m amtterm``."""

import sys

from amtterm.cli.entry import main

sys.exit(main())
