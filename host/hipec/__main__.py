from hipec.cli import main

raise SystemExit(main())
