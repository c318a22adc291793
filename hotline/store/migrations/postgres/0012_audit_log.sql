-- The audit trail: every read of personal data, every disclosure to a responder, every
-- acknowledgement made on someone's behalf, every account created with its role. Who, what,
-- when, why, each record hash-chained to the one before, so `hotline audit verify` finds any
-- edit, deletion or insertion made behind the application's back.
--
-- The id is not an identity column here: `hotline.audit.record` gives each record the id
-- after the last one, under the write lock. A sequence is not given back when a transaction
-- rolls back, and a gap in the ids is how `verify` finds a deleted record.
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    purpose TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
