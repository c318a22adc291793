-- Phone calls and SMS as contacts.
-- The caller's number is personal data: sealed in caller_number_enc (for callbacks and SMS
-- replies) and linked across contacts only by caller_hash, a keyed hash.
ALTER TABLE contacts ADD COLUMN call_sid TEXT;
ALTER TABLE contacts ADD COLUMN caller_hash TEXT;
ALTER TABLE contacts ADD COLUMN caller_number_enc BYTEA;
-- Where a contact went when the hotline could not answer it (e.g. 'backup').
ALTER TABLE contacts ADD COLUMN transferred_to TEXT;
ALTER TABLE contacts ADD COLUMN callback_requested BIGINT NOT NULL DEFAULT 0;
-- Last message either way (SMS threads continue within an inactivity window).
ALTER TABLE contacts ADD COLUMN last_activity_at TEXT;
CREATE UNIQUE INDEX contacts_call_sid ON contacts (call_sid) WHERE call_sid IS NOT NULL;
CREATE INDEX contacts_caller ON contacts (caller_hash, channel, state)
    WHERE caller_hash IS NOT NULL;

-- Outbound SMS: the provider's id and the delivery status it reports.
ALTER TABLE messages ADD COLUMN provider_sid TEXT;
ALTER TABLE messages ADD COLUMN delivery_status TEXT;
CREATE INDEX messages_pending ON messages (delivery_status) WHERE delivery_status = 'pending';

-- People who texted STOP (by keyed hash of their number): no SMS goes to them.
CREATE TABLE sms_opt_outs (
    caller_hash TEXT PRIMARY KEY,
    at TEXT NOT NULL
);

-- How each counsellor answers calls: the browser (Twilio Voice SDK) or their own phone.
ALTER TABLE users ADD COLUMN answer_by TEXT NOT NULL DEFAULT 'browser'
    CHECK (answer_by IN ('browser', 'phone'));
ALTER TABLE users ADD COLUMN phone_enc BYTEA;
