"""``python -m adamw_rms.realnet``: the real-network benchmark (see :mod:`.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
