from dragonfly_ci.cli import main

raise SystemExit(main())
