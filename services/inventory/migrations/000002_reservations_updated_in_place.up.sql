-- A reservation's rows change status once or twice (RESERVED, then
-- COMMITTED or RELEASED), soon after they are written. The partial index on
-- sku named the status in its predicate, so every such change wrote new
-- entries into both indexes; no statement read it (stock.reserved holds
-- what is held per SKU). Without it, and with room left on each page, a
-- change of status is a heap-only update: the new row version goes on the
-- same page and no index is touched.
DROP INDEX IF EXISTS reservations_sku_idx;
ALTER TABLE reservations SET (fillfactor = 80);
