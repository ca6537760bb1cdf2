from unet_studio.cli import main

raise SystemExit(main())
