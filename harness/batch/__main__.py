"""``python -m netgrade.batch grade SPEC``: one grading process of a batch (netgrade.batch.worker)."""
import sys

from .worker import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
