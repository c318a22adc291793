-- The risk rank at which a waiting contact's wait target was last found breached, so each
-- breach raises one alarm (and a rise in risk, with its tighter target, raises another).
ALTER TABLE contacts ADD COLUMN wait_alarm_rank BIGINT;
