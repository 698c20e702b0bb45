"""The commands behind `python cli.py`: one module per job, each importing its heavy dependencies lazily."""
