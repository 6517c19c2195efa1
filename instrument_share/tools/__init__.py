"""The operator's tools behind `flask bench` and `flask backup` (cli.py): they
run beside the application, never inside a request."""
