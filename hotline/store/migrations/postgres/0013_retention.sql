-- Retention (hotline/retention.py, docs/retention.md). Each purge step starts from the rows
-- of its table that still hold personal data and were written before the cutoff, through
-- one of these indexes, and only then looks at their contact: a daily run reads about one
-- day's worth of rows (and those kept for open cases), not every record of past years.
-- Where only some rows hold the data, the index is partial: a wiped row leaves it.
CREATE INDEX messages_at ON messages (at);
CREATE INDEX notes_at ON notes (at);
CREATE INDEX contacts_identified ON contacts (created_at)
    WHERE (caller_number_enc IS NOT NULL OR caller_hash IS NOT NULL
    OR caller_token_hash IS NOT NULL OR call_sid IS NOT NULL);
CREATE INDEX wrap_ups_summary_at ON wrap_ups (at) WHERE summary_enc IS NOT NULL;
CREATE INDEX assessments_text_at ON assessments (at)
    WHERE (safety_plan_enc IS NOT NULL OR reason_enc IS NOT NULL);
CREATE INDEX protocol_steps_note_at ON protocol_steps (at) WHERE note_enc IS NOT NULL;
