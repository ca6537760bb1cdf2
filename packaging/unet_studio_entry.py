"""Entry script for the PyInstaller bundle: the same as the `unet-studio` command."""
import multiprocessing
import sys

from unet_studio.cli import main

if __name__ == "__main__":
    # A frozen app that starts worker processes (torch DataLoader, pyqtgraph)
    # must not re-run main() in each child; this is a no-op when not frozen.
    multiprocessing.freeze_support()
    sys.exit(main())
