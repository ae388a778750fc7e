from starvideos_tui.cli import main

raise SystemExit(main())
