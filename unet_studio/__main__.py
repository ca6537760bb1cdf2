"""`python -m unet_studio` does the same as the `unet-studio` command."""
from unet_studio.cli import main

raise SystemExit(main())
