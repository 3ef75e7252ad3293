-- Marks that the audit trail's genesis is still to be recorded (a new store, or one created
-- before genesis records existed). The server records the genesis at start once the trail
-- verifies from its start, and removes this row; without the row, a missing genesis means
-- records were removed and start-up is refused.
INSERT INTO settings (key, value, updated_at_ms) VALUES ('store.audit_genesis_pending', '1', 0);
