-- The wait estimate averages the handling time of the last day's conversations each time
-- the queue moves; without this index that is a scan of every contact ever recorded.
CREATE INDEX contacts_ended ON contacts (ended_at) WHERE ended_at IS NOT NULL;
