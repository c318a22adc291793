"""The embedded store: SQLite (WAL) with numbered migrations, an event log and repositories.

Everything a person said or a counsellor did is written here before it is shown anywhere,
so a process that dies loses nothing: the next process on the same data directory finds the
same queue, conversations and history.
"""
