-- Follow-up of people at high risk.
--
-- A case is a pseudonymous person record: the number to reach them and any name are sealed
-- (phone_enc, name_enc); contacts are linked to it by keyed hashes (person_hash: the number or
-- chat identity of the contact it came from; phone_hash: the number on the case), never by
-- the number itself. Risk, grade, schedule and dates are in clear: they drive the alarms and
-- the statistics and identify nobody.

-- The wrap-up's follow-up decision: why no case was opened (an option id), and consent to
-- caring texts.
ALTER TABLE wrap_ups ADD COLUMN follow_up_reason TEXT;
ALTER TABLE wrap_ups ADD COLUMN caring_contacts INTEGER NOT NULL DEFAULT 0;

CREATE TABLE followup_cases (
    id INTEGER PRIMARY KEY,
    pseudonym TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    source TEXT NOT NULL CHECK (source IN ('wrap_up', 'manual', 'incident')),
    person_hash TEXT,
    phone_hash TEXT,
    phone_enc BLOB,
    name_enc BLOB,
    lang TEXT NOT NULL,
    district TEXT,
    risk TEXT NOT NULL,
    -- The national danger grade (0-5) of severe-mental-disorder management, when recorded.
    grade INTEGER CHECK (grade BETWEEN 0 AND 5),
    grade_at TEXT,
    referral_flagged_at TEXT,
    owner_user_id INTEGER REFERENCES users (id),
    owner_team_id TEXT,
    caring_sms INTEGER NOT NULL DEFAULT 0,
    caring_sent INTEGER NOT NULL DEFAULT 0,
    -- The risk schedule: offsets (seconds, JSON) from anchor_at, frozen when the risk was set;
    -- done_points of them are completed.
    anchor_at TEXT NOT NULL,
    schedule TEXT NOT NULL,
    done_points INTEGER NOT NULL DEFAULT 0,
    last_reached_at TEXT,
    last_failed_at TEXT,
    failed_streak INTEGER NOT NULL DEFAULT 0,
    next_due_at TEXT,
    -- 'contact' (a scheduled follow-up) or 'review' (schedule done: close or continue).
    due_kind TEXT NOT NULL DEFAULT 'contact',
    -- 0: not overdue, 1: owner alarmed, 2: supervisor alarmed (reset by each new due date).
    overdue_stage INTEGER NOT NULL DEFAULT 0,
    flagged TEXT,
    flagged_at TEXT,
    opened_by TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    close_reason TEXT,
    close_note_enc BLOB,
    CHECK ((owner_user_id IS NULL) <> (owner_team_id IS NULL)),
    CHECK (state = 'open' OR close_reason IS NOT NULL)
);
CREATE INDEX followup_cases_due ON followup_cases (next_due_at) WHERE state = 'open';
CREATE INDEX followup_cases_person ON followup_cases (person_hash) WHERE person_hash IS NOT NULL;
CREATE INDEX followup_cases_phone ON followup_cases (phone_hash) WHERE phone_hash IS NOT NULL;
CREATE INDEX followup_cases_user ON followup_cases (owner_user_id, state);
CREATE INDEX followup_cases_team ON followup_cases (owner_team_id, state);

CREATE TABLE followup_contacts (
    case_id INTEGER NOT NULL REFERENCES followup_cases (id),
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    link TEXT NOT NULL CHECK (link IN ('origin', 'reply', 'repeat', 'manual')),
    at TEXT NOT NULL,
    PRIMARY KEY (case_id, contact_id)
);
CREATE INDEX followup_contacts_contact ON followup_contacts (contact_id);

CREATE TABLE followup_attempts (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES followup_cases (id),
    actor_id INTEGER NOT NULL REFERENCES users (id),
    outcome TEXT NOT NULL CHECK (outcome IN ('reached', 'no_answer', 'declined', 'wrong_number')),
    risk TEXT NOT NULL,
    grade INTEGER CHECK (grade BETWEEN 0 AND 5),
    note_enc BLOB,
    due_at TEXT,
    at TEXT NOT NULL
);
CREATE INDEX followup_attempts_case ON followup_attempts (case_id, id);

-- Caring texts sent to a case (the words are a template from config; only its index is kept).
CREATE TABLE followup_caring_texts (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES followup_cases (id),
    seq INTEGER NOT NULL,
    template INTEGER NOT NULL,
    provider_sid TEXT,
    status TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE (case_id, seq)
);
CREATE INDEX followup_caring_pending ON followup_caring_texts (status) WHERE status = 'pending';

-- Every contact that ended at high or imminent risk gets a decision: a case, or a reason why
-- not. Wrap-ups write it; contacts that ended without one (abandoned, lost) wait for a
-- supervisor's decision, listed until it is made.
CREATE TABLE followup_decisions (
    contact_id INTEGER PRIMARY KEY REFERENCES contacts (id),
    case_id INTEGER REFERENCES followup_cases (id),
    reason TEXT,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    CHECK ((case_id IS NULL) <> (reason IS NULL))
);
