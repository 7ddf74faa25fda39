"""python -m plugin -> the ddx command line."""

from plugin.cli import main

main()
