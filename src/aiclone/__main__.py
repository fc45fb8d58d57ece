import sys

from aiclone.cli import main

sys.exit(main())
