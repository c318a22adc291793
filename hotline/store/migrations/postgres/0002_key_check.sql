-- A value sealed with the data key on first start. Opening it at every start proves the key
-- in use is the one the data was written with, before anyone relies on the hotline.
-- (One row, id 1: no identity column.)
CREATE TABLE key_check (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    sealed BYTEA NOT NULL,
    created_at TEXT NOT NULL
);
