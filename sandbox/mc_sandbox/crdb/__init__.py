"""The sandbox's CockroachDB stand-in: a PostgreSQL wire-protocol front and the SQL behind it."""
