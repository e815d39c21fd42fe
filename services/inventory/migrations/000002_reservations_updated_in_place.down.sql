ALTER TABLE reservations RESET (fillfactor);
CREATE INDEX IF NOT EXISTS reservations_sku_idx ON reservations (sku) WHERE status IN ('RESERVED', 'COMMITTED');
