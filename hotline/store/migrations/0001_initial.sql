-- The foundation: staff, sessions, presence, contacts with their messages and notes,
-- wrap-ups, and the append-only event log every live view and statistic is built from.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name_enc BLOB NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('counsellor', 'supervisor', 'coordinator', 'admin')),
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE presence (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    status TEXT NOT NULL CHECK (status IN ('available', 'on_break', 'offline')),
    since TEXT NOT NULL
);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN
        ('queued', 'offered', 'active', 'wrap_up', 'closed', 'abandoned', 'transferred')),
    risk TEXT NOT NULL,
    risk_rank INTEGER NOT NULL,
    district TEXT,
    lang TEXT NOT NULL,
    -- When the person first arrived: time waited is counted from here, across re-queues.
    waiting_since TEXT NOT NULL,
    -- 1 once a counsellor dropped the contact: it goes to the head of its risk level.
    requeued INTEGER NOT NULL DEFAULT 0,
    counsellor_id INTEGER REFERENCES users (id),
    caller_token_hash TEXT UNIQUE,
    -- Web chat: when the person's last connection closed (NULL while connected).
    caller_left_at TEXT,
    ended_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    answered_at TEXT,
    ended_at TEXT,
    closed_at TEXT
);
-- The queue order: risk first, dropped contacts at the head of their level, then time waited.
CREATE INDEX contacts_queue ON contacts (risk_rank DESC, requeued DESC, waiting_since, id)
    WHERE state = 'queued';
CREATE INDEX contacts_counsellor ON contacts (counsellor_id, state);
CREATE INDEX contacts_state ON contacts (state);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    sender TEXT NOT NULL CHECK (sender IN ('caller', 'counsellor')),
    author_id INTEGER REFERENCES users (id),
    body_enc BLOB NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX messages_contact ON messages (contact_id, id);

CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    author_id INTEGER NOT NULL REFERENCES users (id),
    body_enc BLOB NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX notes_contact ON notes (contact_id, id);

CREATE TABLE wrap_ups (
    contact_id INTEGER PRIMARY KEY REFERENCES contacts (id),
    counsellor_id INTEGER NOT NULL REFERENCES users (id),
    category TEXT NOT NULL,
    outcome TEXT NOT NULL,
    referral TEXT NOT NULL,
    follow_up_wanted INTEGER NOT NULL,
    key_groups TEXT NOT NULL,
    summary_enc BLOB,
    at TEXT NOT NULL
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject, id);
CREATE INDEX events_kind ON events (kind, id);

-- Append-only: history is never rewritten. (Retention purges, when they come, will go
-- through a dedicated, audited path that replaces these triggers deliberately.)
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
