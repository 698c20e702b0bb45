"""A local cluster on 127.0.0.1: a Temporal dev server, PostgreSQL, session workers and gateways."""
