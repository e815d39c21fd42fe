-- An order's row is updated once or twice soon after it is written: its
-- first answer sets a flag (its status still PENDING), its last sets the
-- final status. The first touches no indexed column, so it can be a
-- heap-only update (the new row version on the same page, no index
-- entries) if the page has room; orders placed after it fill that page
-- first. Inserts now leave a fifth of each page free.
ALTER TABLE orders SET (fillfactor = 80);
