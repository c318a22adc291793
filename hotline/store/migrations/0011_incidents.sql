-- Mass incidents: a plan template made live.
--
-- The plan is copied onto the incident when it is declared (like an escalation policy onto a
-- dispatch), so editing config/plans later does not change a running incident. Descriptions,
-- notes and the registry's names are personal or sensitive text: sealed.

CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    plan_id TEXT NOT NULL,
    plan TEXT NOT NULL,
    kind TEXT NOT NULL,
    districts TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'stood_down')),
    description_enc BLOB,
    declared_by TEXT NOT NULL,
    declared_at TEXT NOT NULL,
    stood_down_by TEXT,
    stood_down_at TEXT,
    next_sitrep_at TEXT,
    report_path TEXT
);
-- At most one active incident drives the hotline's surge mode at a time.
CREATE UNIQUE INDEX incidents_one_active ON incidents (state) WHERE state = 'active';

-- Each team mobilised: the dispatch that pages it, and when it accepted.
CREATE TABLE incident_teams (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    team_id TEXT NOT NULL,
    dispatch_id INTEGER REFERENCES dispatches (id),
    PRIMARY KEY (incident_id, team_id)
);

-- Reserve counsellors called in by SMS: one row each, answered with "<code> 1" or "<code> 2".
-- The code shares the dispatches' space (a reply is read by the same paging number).
CREATE TABLE incident_callins (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    team_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    code TEXT NOT NULL,
    recipient_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_sid TEXT,
    answer TEXT CHECK (answer IN ('coming', 'cannot')),
    eta_minutes INTEGER,
    sent_at TEXT,
    answered_at TEXT,
    UNIQUE (incident_id, member_id)
);
CREATE INDEX incident_callins_code ON incident_callins (code);
CREATE INDEX incident_callins_pending ON incident_callins (status) WHERE status = 'pending';

CREATE TABLE incident_checklist (
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    step_id TEXT NOT NULL,
    due_at TEXT NOT NULL,
    done_at TEXT,
    done_by TEXT,
    overdue_alarmed_at TEXT,
    PRIMARY KEY (incident_id, step_id)
);

CREATE TABLE incident_sitreps (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    author TEXT NOT NULL,
    body_enc BLOB NOT NULL,
    at TEXT NOT NULL
);

-- The affected-person registry (group crisis management, PsySTART-style exposure factors).
CREATE TABLE affected_people (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    pseudonym TEXT NOT NULL UNIQUE,
    name_enc BLOB,
    phone_enc BLOB,
    district TEXT NOT NULL,
    tier INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 4),
    exposures TEXT NOT NULL,
    risk TEXT NOT NULL,
    owner_user_id INTEGER REFERENCES users (id),
    owner_team_id TEXT,
    case_id INTEGER REFERENCES followup_cases (id),
    registered_by TEXT NOT NULL,
    registered_at TEXT NOT NULL
);
CREATE INDEX affected_people_incident ON affected_people (incident_id, tier);

CREATE TABLE group_sessions (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    district TEXT NOT NULL,
    kind TEXT NOT NULL,
    participants INTEGER NOT NULL CHECK (participants > 0),
    led_by TEXT NOT NULL,
    note_enc BLOB,
    at TEXT NOT NULL
);

-- Responders on duty during an incident: when each stretch began and ended (welfare).
CREATE TABLE incident_duty (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    responder TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    rest_reminded_at TEXT
);
CREATE INDEX incident_duty_open ON incident_duty (incident_id, responder) WHERE ended_at IS NULL;

-- Contacts tagged by the surge's "affected by the incident" option.
-- (No foreign key: the hotline's own tables know incidents only by number.)
ALTER TABLE contacts ADD COLUMN incident_id INTEGER;
CREATE INDEX contacts_incident ON contacts (incident_id) WHERE incident_id IS NOT NULL;

-- The hotline's surge mode while an incident is live: what callers and chatters are told,
-- the "affected" question, and the least risk an affected person starts at. Written by the
-- incident side, read by the hotline's channels (which know nothing of plans).
CREATE TABLE surge_modes (
    incident_id INTEGER PRIMARY KEY,
    ivr_announcement_zh TEXT NOT NULL,
    ivr_announcement_en TEXT NOT NULL,
    chat_announcement_zh TEXT NOT NULL,
    chat_announcement_en TEXT NOT NULL,
    affected_question_zh TEXT NOT NULL,
    affected_question_en TEXT NOT NULL,
    affected_min_risk TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE UNIQUE INDEX surge_modes_one_on ON surge_modes ((1)) WHERE ended_at IS NULL;
