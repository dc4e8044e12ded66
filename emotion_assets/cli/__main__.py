"""`python -m emotion_assets.cli COMMAND`: the same as the `emotion-assets` script."""

from emotion_assets.cli import main

raise SystemExit(main())
