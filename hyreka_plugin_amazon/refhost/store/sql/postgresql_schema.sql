-- The store's tables on PostgreSQL: the whole schema, run when a store is opened (every
-- statement creates only what is missing), under an advisory lock so that one process at a
-- time does it. Its SQLite twin is sqlite_schema.sql; a test checks that both make the same
-- tables, columns, keys and indexes. The types are PostgreSQL's: BYTEA for encrypted values,
-- BOOLEAN for flags, BIGSERIAL for ids, DOUBLE PRECISION for the lease's expiry, and an
-- explicit rowid in orders (SQLite's is implicit).
--
-- Columns added after a table was first released are at the end, as ALTER TABLE ... ADD
-- COLUMN: the store runs one only where the column is missing (an older database).

CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL,           -- encrypted
    key_id TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    connector TEXT NOT NULL,
    region TEXT NOT NULL,
    marketplace_ids TEXT NOT NULL,  -- JSON list
    client_id TEXT NOT NULL,
    client_secret BYTEA NOT NULL,   -- encrypted
    refresh_token BYTEA NOT NULL,   -- encrypted
    endpoint TEXT,
    token_url TEXT,
    settings TEXT NOT NULL,         -- JSON object, not secret
    locale TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- rowid numbers the orders in the order they were first stored, as SQLite's implicit one.
CREATE TABLE IF NOT EXISTS orders (
    rowid BIGSERIAL NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    amazon_order_id TEXT NOT NULL,
    status TEXT NOT NULL,
    marketplace_id TEXT,
    fulfillment_channel TEXT,
    currency TEXT,
    purchase_date TEXT,
    last_updated TEXT,
    total TEXT NOT NULL,
    line_count INTEGER NOT NULL,
    country_code TEXT,
    billing_address_missing BOOLEAN NOT NULL,
    payload BYTEA NOT NULL,         -- Order.as_record() JSON, encrypted (Vault.seal)
    payload_mac BYTEA NOT NULL,     -- HMAC-SHA256 of the plaintext payload
    key_id TEXT NOT NULL,
    closed_at TEXT,                 -- when the host first saw it shipped or cancelled
    purged_at TEXT,                 -- when its personal data was removed
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, amazon_order_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS orders_by_rowid ON orders (rowid);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (account_id, status);

CREATE TABLE IF NOT EXISTS state (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (account_id, key)
);

CREATE TABLE IF NOT EXISTS problems (
    id BIGSERIAL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    amazon_order_id TEXT,
    row_number INTEGER,
    column_name TEXT,
    reason TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    messages TEXT NOT NULL DEFAULT '{}'  -- JSON: language -> the reason in the seller's words
);
CREATE INDEX IF NOT EXISTS problems_by_account ON problems (account_id);

CREATE TABLE IF NOT EXISTS sync_runs (
    id BIGSERIAL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    trigger TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    ok BOOLEAN,
    code TEXT,
    message TEXT,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    failed_rows INTEGER NOT NULL DEFAULT 0,
    api_calls TEXT NOT NULL DEFAULT '{}',
    warnings TEXT NOT NULL DEFAULT '[]'  -- JSON list of the seller's warning texts
);
CREATE INDEX IF NOT EXISTS sync_runs_by_account ON sync_runs (account_id, id);

-- The outbox of shipment confirmations (refhost/store/shipments.py).
CREATE TABLE IF NOT EXISTS shipments (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    package_id INTEGER NOT NULL,    -- the host's package number, Amazon's packageReferenceId
    amazon_order_id TEXT NOT NULL,
    state TEXT NOT NULL,            -- pending, confirmed or refused
    carrier TEXT NOT NULL,
    carrier_name TEXT,
    shipping_method TEXT,
    tracking_number TEXT NOT NULL,  -- the seller's own shipping data, no buyer's
    ship_date TEXT NOT NULL,
    items TEXT NOT NULL,            -- JSON [[order_item_id, quantity], ...]
    code TEXT,                      -- the last outcome's message id and text
    message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    confirmed_at TEXT,
    PRIMARY KEY (account_id, package_id)
);
CREATE INDEX IF NOT EXISTS shipments_by_order ON shipments (account_id, amazon_order_id);
CREATE INDEX IF NOT EXISTS shipments_by_state ON shipments (account_id, state);

-- The last package number given out per account (next_package_id): numbers are counted here,
-- in one row per account, so two shipments recorded at once never share one.
CREATE TABLE IF NOT EXISTS package_numbers (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    last_package_id INTEGER NOT NULL
);

-- The one-time tokens of the console's shipping form (refhost/store/shipments.py): a token
-- sent again (a double submit) finds the package its first submit recorded.
CREATE TABLE IF NOT EXISTS ship_requests (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    token TEXT NOT NULL,
    package_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, token)
);

-- One sync per account at a time: the lease of the sync that holds it (refhost/store/leases*).
-- No foreign key: a lease may name an account that is being added or was just removed.
CREATE TABLE IF NOT EXISTS sync_locks (
    account_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,            -- the holder's token: host, process id, random parts
    expires_at DOUBLE PRECISION NOT NULL  -- seconds since the epoch
);

-- Crypto-shredding (refhost/store/datakeys.py): each account has a random data key of its
-- own, kept only wrapped under the vault key in its row here; its order records
-- (orders.payload) are sealed with it. Removing the account deletes this row: old copies of
-- its records (freed pages, dead tuples, the write-ahead log, backups) have no key left.
CREATE TABLE IF NOT EXISTS account_keys (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    id TEXT NOT NULL,               -- 'k' and 16 hex digits: orders.key_id of its records
    wrapped BYTEA NOT NULL,         -- the key sealed under the vault key (Vault.wrap_key)
    key_id TEXT NOT NULL,           -- the vault key it is wrapped under
    created_at TEXT NOT NULL
);

-- Order records still sealed under the vault key itself (written before account keys): the
-- store seals them under their accounts' keys when it opens (orders_sealed_by_vault).
CREATE INDEX IF NOT EXISTS orders_sealed_by_vault ON orders (account_id)
    WHERE substr(key_id, 1, 1) <> 'k';

-- The outbox of invoice uploads (refhost/store/invoices.py): one row an invoice, identified
-- at Amazon by its order, number and document type; the PDF sealed under the vault key
-- (bound to its row) until Amazon accepted it.
CREATE TABLE IF NOT EXISTS invoices (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    amazon_order_id TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    document_type TEXT NOT NULL,    -- invoice or credit-note
    state TEXT NOT NULL,            -- pending, uploaded, accepted or refused
    total_amount TEXT NOT NULL,     -- in the order's currency
    total_vat_amount TEXT NOT NULL,
    currency TEXT,
    transaction_id TEXT,            -- a credit note's refund at Amazon
    pdf BYTEA,                      -- sealed; NULL once accepted
    key_id TEXT,                    -- the vault key it is sealed under
    sha256 TEXT NOT NULL,           -- of the PDF
    feed_id TEXT,                   -- Amazon's feed that carries it
    code TEXT,                      -- the last outcome's message id and text (the reason)
    message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, amazon_order_id, invoice_number, document_type)
);
CREATE INDEX IF NOT EXISTS invoices_by_state ON invoices (account_id, state);

-- Columns added after their table was released.
ALTER TABLE sync_runs ADD COLUMN IF NOT EXISTS warnings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE problems ADD COLUMN IF NOT EXISTS messages TEXT NOT NULL DEFAULT '{}';
-- the package's revision: bumped by a correction (an outcome applies to the revision sent)
ALTER TABLE shipments ADD COLUMN IF NOT EXISTS revision INTEGER NOT NULL DEFAULT 1;
-- the sender holding the package while it is sent (host:pid:random), and until when
ALTER TABLE shipments ADD COLUMN IF NOT EXISTS sender TEXT;
ALTER TABLE shipments ADD COLUMN IF NOT EXISTS sender_until DOUBLE PRECISION;
-- 1: the package holds everything left of the order (the connector leaves out what Amazon
-- counts as shipped already)
ALTER TABLE shipments ADD COLUMN IF NOT EXISTS all_items INTEGER NOT NULL DEFAULT 0;
