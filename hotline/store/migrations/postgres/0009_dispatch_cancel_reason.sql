-- Why a dispatch was cancelled is free text: sealed in the row, never in the event log.
ALTER TABLE dispatches ADD COLUMN cancel_reason_enc BYTEA;
