"""``python -m amtterm``."""

import sys

from amtterm.entry import main

sys.exit(main())
