"""Allow ``python -m phasectl``."""

from phasectl.cli import main

if __name__ == "__main__":
    main()
