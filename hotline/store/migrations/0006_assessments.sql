-- Counsellors' C-SSRS assessments: the answers and resulting level in clear (statistics),
-- the safety plan and any written reason for lowering the level sealed (personal text).
CREATE TABLE assessments (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    counsellor_id INTEGER NOT NULL REFERENCES users (id),
    answers TEXT NOT NULL,
    protective_factors TEXT NOT NULL,
    level TEXT NOT NULL,
    safety_plan_enc BLOB,
    reason_enc BLOB,
    at TEXT NOT NULL
);
CREATE INDEX assessments_contact ON assessments (contact_id, id);
