"""The store: SQLite (WAL, the embedded default) or PostgreSQL, with numbered migrations for
each, an event log and repositories (docs/storage.md).

Everything a person said or a counsellor did is written here before it is shown anywhere,
so a process that dies loses nothing: the next process on the same store finds the same
queue, conversations and history.
"""
