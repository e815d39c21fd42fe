-- An account holds money in one currency; a payment in another fails.
-- Accounts created before this migration hold euros, the only currency the
-- service charged in until then.
ALTER TABLE accounts ADD COLUMN currency char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$');
