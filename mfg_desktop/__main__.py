from mfg_desktop.cli import main

raise SystemExit(main())
