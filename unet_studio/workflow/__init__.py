"""Workflow the app and the command line share, with no Qt: what to predict, what to write, and
under which names. gui/ shows it and runs it in workers; cli.py runs it in the terminal."""
