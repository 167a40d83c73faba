"""One module per CLI command; each has `register(subparsers)` and sets `func` on its parser.

To add a command: write bot/commands/<name>.py with a `register` function and list it in bot/cli.py.
"""
