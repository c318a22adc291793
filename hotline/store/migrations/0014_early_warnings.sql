-- Early warnings: a district's last window compared with its own baseline, kept when the rise
-- is beyond chance (hotline.stats.warning). Aggregates only: a district, a measure, counts and
-- test results; never a contact id, a number or a word of what anyone said. Supervisors
-- acknowledge an alert once they have seen it; until then it stays open across restarts.
CREATE TABLE early_warnings (
    id INTEGER PRIMARY KEY,
    district TEXT NOT NULL,
    measure TEXT NOT NULL
        CHECK (measure IN ('contacts', 'high_risk_share', 'incident_tagged')),
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    observed INTEGER NOT NULL,
    expected REAL NOT NULL,
    -- The high-risk share's denominator (contacts of the window) and its baseline share.
    window_total INTEGER,
    baseline_share REAL,
    ratio REAL NOT NULL,
    p_value REAL NOT NULL,
    -- The Bonferroni-corrected level the p-value was held to, and how many tests shared it.
    threshold REAL NOT NULL,
    tests INTEGER NOT NULL,
    raised_at TEXT NOT NULL,
    acknowledged_at TEXT,
    -- The staff member's id, as their events' actor; no foreign key, so the alert's history
    -- never stands in the way of removing an account.
    acknowledged_by INTEGER
);

-- "Is an alert for this district and measure still within its window?" (no alarm storm).
CREATE INDEX early_warnings_recent ON early_warnings (district, measure, window_end);
CREATE INDEX early_warnings_open ON early_warnings (id) WHERE acknowledged_at IS NULL;
