-- Dispatch: responders' sealed numbers, dispatches, pages, responses, and durable timers.

-- A responder's phone number, sealed; replies are matched by its keyed hash.
CREATE TABLE responders (
    team_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    phone_enc BLOB,
    phone_hash TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (team_id, member_id)
);
CREATE INDEX responders_phone ON responders (phone_hash);

CREATE TABLE dispatches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'crisis',
    team_id TEXT NOT NULL,
    district_id TEXT,
    risk TEXT NOT NULL,
    summary_enc BLOB,
    contact_id INTEGER REFERENCES contacts (id),
    state TEXT NOT NULL,
    -- The escalation policy as it was when the dispatch started (JSON).
    policy TEXT NOT NULL,
    step_index INTEGER NOT NULL DEFAULT -1,
    next_step_at TEXT,
    alarm INTEGER NOT NULL DEFAULT 0,
    exhausted INTEGER NOT NULL DEFAULT 0,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    accepted_team TEXT,
    accepted_member TEXT,
    accepted_at TEXT,
    accepted_via TEXT,
    accepted_actor TEXT,
    eta_minutes INTEGER,
    number_disclosed INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,
    closed_at TEXT
);
CREATE INDEX dispatches_open ON dispatches (id) WHERE closed_at IS NULL;
CREATE INDEX dispatches_code ON dispatches (code, id);
CREATE INDEX dispatches_closed ON dispatches (closed_at);

CREATE TABLE pages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dispatch_id INTEGER NOT NULL REFERENCES dispatches (id),
    step_index INTEGER NOT NULL,
    team_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    recipient_hash TEXT,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    send_after TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    provider_sid TEXT,
    delivery TEXT,
    response TEXT,
    responded_at TEXT,
    error TEXT
);
CREATE INDEX pages_dispatch ON pages (dispatch_id, id);
CREATE INDEX pages_due ON pages (send_after) WHERE state = 'pending';
CREATE INDEX pages_sending ON pages (id) WHERE state = 'sending';
CREATE INDEX pages_sid ON pages (provider_sid);
CREATE INDEX pages_recipient ON pages (recipient_hash, send_after);

CREATE TABLE page_responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dispatch_id INTEGER NOT NULL REFERENCES dispatches (id),
    page_id INTEGER REFERENCES pages (id),
    team_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    response TEXT NOT NULL,
    eta_minutes INTEGER,
    reason_enc BLOB,
    via TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX page_responses_dispatch ON page_responses (dispatch_id, id);

-- Durable timers: a row per future action, fired once by whichever loop claims it first
-- (the claim and the action share one write transaction).
CREATE TABLE timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    due_at TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    fired_at TEXT
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;
CREATE INDEX timers_subject ON timers (kind, subject) WHERE fired_at IS NULL;
