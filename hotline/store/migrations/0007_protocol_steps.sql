-- The imminent-risk protocol: each step a counsellor records while staying with the person.
-- The free-text "why" (e.g. why 110 was not called) is sealed like all personal text.
CREATE TABLE protocol_steps (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    actor TEXT NOT NULL,
    step TEXT NOT NULL,
    done INTEGER NOT NULL,
    service TEXT,
    note_enc BLOB,
    at TEXT NOT NULL
);
CREATE INDEX protocol_steps_contact ON protocol_steps (contact_id, id);
