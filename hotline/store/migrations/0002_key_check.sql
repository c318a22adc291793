-- A value sealed with the data key on first start. Opening it at every start proves the key
-- in use is the one the data was written with, before anyone relies on the hotline.
CREATE TABLE key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed BLOB NOT NULL,
    created_at TEXT NOT NULL
);
