"""Allow ``python -m phasectl``."""

from phasectl.early import main

if __name__ == "__main__":
    main()
