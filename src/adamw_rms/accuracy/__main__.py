"""``python -m adamw_rms.accuracy``: the same command as ``adamw-rms accuracy``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
