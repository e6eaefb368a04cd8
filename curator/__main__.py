"""`python -m curator`."""

from .quick import main

# Guarded: parse workers started by a fork server import the main module again.
if __name__ == "__main__":
    main()
