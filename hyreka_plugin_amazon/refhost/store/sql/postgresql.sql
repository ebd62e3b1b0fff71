-- Every statement the store runs on PostgreSQL, by name (refhost/store/sqlfiles.py reads this
-- file once). sqlite.sql has the same names with the same parameters, in SQLite's SQL.
--
-- Parameters are psycopg's: %(name)s, bound from a dict; upsert_order alone takes %s in the
-- order of OrderStore._values(). Every statement runs with parameters, so a literal percent
-- sign is written %%. A JSON list parameter is read with json_array_elements_text; a NULL
-- filter parameter is cast to text (PostgreSQL must know its type). Write transactions run
-- in READ COMMITTED; what needs more says so where it is read (FOR UPDATE, FOR SHARE).
-- A statement runs until the next "-- name:" line; lines starting with "--" are left out.

-- name: begin_write
BEGIN ISOLATION LEVEL READ COMMITTED;

-- name: commit
COMMIT;

-- name: rollback
ROLLBACK;

-- ------------------------------------------------------------------------------- the key check

-- name: read_key_check
SELECT value FROM meta WHERE name = 'key_check';

-- name: key_check_for_write
SELECT value FROM meta WHERE name = 'key_check' FOR UPDATE;

-- name: insert_key_check
-- A store opened by two processes at once keeps the first check; each reads it back.
INSERT INTO meta (name, value, key_id) VALUES ('key_check', %(value)s, %(key_id)s)
ON CONFLICT (name) DO NOTHING;

-- name: update_key_check
UPDATE meta SET value = %(value)s, key_id = %(key_id)s WHERE name = 'key_check';

-- ------------------------------------------------------------------------------------ accounts

-- name: insert_account
INSERT INTO accounts (
    id, name, connector, region, marketplace_ids, client_id, client_secret, refresh_token,
    endpoint, token_url, settings, locale, key_id, created_at, updated_at
) VALUES (
    %(id)s, %(name)s, %(connector)s, %(region)s, %(marketplace_ids)s, %(client_id)s, %(client_secret)s,
    %(refresh_token)s, %(endpoint)s, %(token_url)s, %(settings)s, %(locale)s, %(key_id)s, %(now)s, %(now)s
);

-- name: update_account
UPDATE accounts SET name = %(name)s, connector = %(connector)s, region = %(region)s,
    marketplace_ids = %(marketplace_ids)s, client_id = %(client_id)s, client_secret = %(client_secret)s,
    refresh_token = %(refresh_token)s, endpoint = %(endpoint)s, token_url = %(token_url)s,
    settings = %(settings)s, locale = %(locale)s, key_id = %(key_id)s, updated_at = %(now)s
WHERE id = %(id)s;

-- name: find_account
-- By id first, then by name.
SELECT * FROM accounts WHERE id = %(key)s UNION ALL SELECT * FROM accounts WHERE name = %(key)s;

-- name: list_accounts
-- Byte order, as SQLite's.
SELECT * FROM accounts ORDER BY name COLLATE "C";

-- name: account_exists
SELECT 1 FROM accounts WHERE id = %(account_id)s;

-- name: delete_account
DELETE FROM accounts WHERE id = %(account_id)s;

-- name: reseal_account
UPDATE accounts SET client_secret = %(client_secret)s, refresh_token = %(refresh_token)s,
    key_id = %(key_id)s
WHERE id = %(id)s;

-- name: accounts_not_under_key
SELECT * FROM accounts WHERE key_id != %(key_id)s FOR UPDATE;

-- ------------------------------------------------------------------------- per-account state

-- name: get_state
SELECT value FROM state WHERE account_id = %(account_id)s AND key = %(key)s;

-- name: set_state
INSERT INTO state (account_id, key, value) VALUES (%(account_id)s, %(key)s, %(value)s)
ON CONFLICT (account_id, key) DO UPDATE SET value = excluded.value;

-- name: delete_state
DELETE FROM state WHERE account_id = %(account_id)s AND key = %(key)s;

-- ------------------------------------------------------------------------------------ problems

-- name: delete_problems
DELETE FROM problems WHERE account_id = %(account_id)s;

-- name: insert_problem
INSERT INTO problems (
    account_id, amazon_order_id, row_number, column_name, reason, recorded_at, messages
) VALUES (
    %(account_id)s, %(amazon_order_id)s, %(row_number)s, %(column_name)s, %(reason)s, %(recorded_at)s, %(messages)s
);

-- name: list_problems
SELECT amazon_order_id, row_number, column_name, reason, messages FROM problems
WHERE account_id = %(account_id)s ORDER BY id;

-- name: dismiss_problem
DELETE FROM problems WHERE account_id = %(account_id)s AND amazon_order_id = %(amazon_order_id)s;

-- name: open_problems
-- %(account_id)s NULL: every account's.
SELECT * FROM problems WHERE (%(account_id)s::text IS NULL OR account_id = %(account_id)s) ORDER BY id;

-- name: drop_problem
DELETE FROM problems WHERE id = %(id)s;

-- ----------------------------------------------------------------------------------- sync runs

-- name: start_run
INSERT INTO sync_runs (account_id, trigger, started_at) VALUES (%(account_id)s, %(trigger)s, %(now)s)
RETURNING id;

-- name: finish_run
UPDATE sync_runs SET finished_at = %(now)s, ok = %(ok)s, code = %(code)s, message = %(message)s,
    created = %(created)s, updated = %(updated)s, unchanged = %(unchanged)s,
    failed_rows = %(failed_rows)s, api_calls = %(api_calls)s, warnings = %(warnings)s
WHERE id = %(id)s;

-- name: list_runs
-- The latest first; %(account_id)s NULL: every account's.
SELECT * FROM sync_runs WHERE (%(account_id)s::text IS NULL OR account_id = %(account_id)s)
ORDER BY id DESC LIMIT %(limit)s;

-- -------------------------------------------------------------------------------------- orders

-- name: upsert_order
INSERT INTO orders (
    account_id, amazon_order_id, created_at, status, marketplace_id, fulfillment_channel,
    currency, purchase_date, last_updated, total, line_count, country_code,
    billing_address_missing, payload, payload_mac, key_id, closed_at, purged_at, updated_at
) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (account_id, amazon_order_id) DO UPDATE SET
    status = excluded.status,
    marketplace_id = excluded.marketplace_id,
    fulfillment_channel = excluded.fulfillment_channel,
    currency = excluded.currency,
    purchase_date = excluded.purchase_date,
    last_updated = excluded.last_updated,
    total = excluded.total,
    line_count = excluded.line_count,
    country_code = excluded.country_code,
    billing_address_missing = excluded.billing_address_missing,
    payload = excluded.payload,
    payload_mac = excluded.payload_mac,
    key_id = excluded.key_id,
    closed_at = excluded.closed_at,
    purged_at = excluded.purged_at,
    updated_at = excluded.updated_at;

-- name: order_state
-- What decides an upsert (RowState), read outside a write transaction.
SELECT payload_mac, key_id, closed_at, purged_at FROM orders
WHERE account_id = %(account_id)s AND amazon_order_id = %(amazon_order_id)s;

-- name: order_state_for_write
-- order_state inside a write transaction, which the upsert then relies on: the row stays
-- as read until the transaction ends (a purge or a key rotation waits).
SELECT payload_mac, key_id, closed_at, purged_at FROM orders
WHERE account_id = %(account_id)s AND amazon_order_id = %(amazon_order_id)s FOR UPDATE;

-- name: order_states_for_write
-- order_state_for_write of the orders whose ids are the JSON list %(ids)s, locked in rowid
-- order (as purges and key rotations lock them).
SELECT amazon_order_id, payload_mac, key_id, closed_at, purged_at FROM orders
WHERE account_id = %(account_id)s
    AND amazon_order_id IN (SELECT json_array_elements_text(%(ids)s::json))
ORDER BY rowid FOR UPDATE;

-- name: order_payload
SELECT payload, key_id FROM orders
WHERE account_id = %(account_id)s AND amazon_order_id = %(amazon_order_id)s;

-- name: find_order
SELECT payload, payload_mac, key_id, closed_at, purged_at FROM orders
WHERE account_id = %(account_id)s AND amazon_order_id = %(amazon_order_id)s;

-- name: stored_order_ids
SELECT amazon_order_id FROM orders WHERE account_id = %(account_id)s LIMIT %(limit)s;

-- name: orders_after
-- A page of orders in the order they were first stored; NULL filters: all.
SELECT rowid, account_id, amazon_order_id, payload, key_id FROM orders WHERE rowid > %(after)s
    AND (%(account_id)s::text IS NULL OR account_id = %(account_id)s)
    AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY rowid LIMIT %(limit)s;

-- name: order_summaries
-- The plain (not personal) columns of an account's orders, for the order list's filters,
-- sorting and pages without decrypting; NULL status: all.
SELECT rowid, amazon_order_id, status, marketplace_id, fulfillment_channel, currency,
    purchase_date, total, billing_address_missing
FROM orders WHERE account_id = %(account_id)s
    AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY rowid;

-- name: order_ids_by_status
-- %(statuses)s is a JSON list.
SELECT amazon_order_id FROM orders WHERE account_id = %(account_id)s
    AND status IN (SELECT json_array_elements_text(%(statuses)s::json));

-- --------------------------------------------------------------------- retention and key rotation

-- name: purge_candidates
-- Closed (%(shipped)s, %(cancelled)s) before %(closed_before)s, or not updated since %(stale_before)s.
SELECT rowid, account_id, amazon_order_id FROM orders WHERE purged_at IS NULL
    AND ((status IN (%(shipped)s, %(cancelled)s) AND COALESCE(last_updated, closed_at) < %(closed_before)s)
        OR COALESCE(last_updated, created_at) < %(stale_before)s)
ORDER BY rowid;

-- name: order_payload_for_write
-- The payload a write transaction rewrites, locked until it ends.
SELECT account_id, amazon_order_id, payload, key_id FROM orders WHERE rowid = %(rowid)s FOR UPDATE;

-- name: mark_purged
UPDATE orders SET purged_at = %(purged_at)s WHERE rowid = %(rowid)s;

-- name: stale_purged_order_ids
SELECT amazon_order_id FROM orders WHERE purged_at IS NOT NULL
    AND status NOT IN (%(shipped)s, %(cancelled)s)
    AND (%(account_id)s::text IS NULL OR account_id = %(account_id)s)
ORDER BY rowid;

-- name: orders_sealed_by_vault
-- A batch of order records still sealed under the vault key itself (stores from before
-- account keys: key_id names a vault key, not an account key 'k...'), read and locked in the
-- write transaction that seals them under their accounts' keys; the condition is checked
-- again on the locked row, so two processes never seal one record twice.
SELECT rowid, account_id, amazon_order_id, payload FROM orders
WHERE rowid > %(after)s AND substr(key_id, 1, 1) <> 'k'
ORDER BY rowid LIMIT %(limit)s FOR UPDATE;

-- name: rewrite_payload
UPDATE orders SET payload = %(payload)s, payload_mac = %(payload_mac)s, key_id = %(key_id)s,
    updated_at = %(now)s
WHERE rowid = %(rowid)s;

-- ------------------------------------------------------------------------------ account keys
-- Crypto-shredding: each account's data key, wrapped under the vault key, in a row of its own
-- (refhost/store/datakeys.py).

-- name: account_key
SELECT id, wrapped, key_id FROM account_keys WHERE account_id = %(account_id)s;

-- name: account_key_for_write
-- The key a write transaction seals with; the account cannot be removed until it ends.
SELECT id, wrapped, key_id FROM account_keys WHERE account_id = %(account_id)s FOR SHARE;

-- name: insert_account_key
-- Two processes giving an account its key at once: the first one's stays; each reads it back.
INSERT INTO account_keys (account_id, id, wrapped, key_id, created_at)
VALUES (%(account_id)s, %(id)s, %(wrapped)s, %(key_id)s, %(now)s)
ON CONFLICT (account_id) DO NOTHING;

-- name: accounts_without_key
SELECT a.id FROM accounts a
WHERE NOT EXISTS (SELECT 1 FROM account_keys k WHERE k.account_id = a.id);

-- name: account_keys_not_under_key
-- The account keys a key rotation wraps again, read in its write transaction.
SELECT account_id, id, wrapped FROM account_keys WHERE key_id != %(key_id)s FOR UPDATE;

-- name: rewrap_account_key
UPDATE account_keys SET wrapped = %(wrapped)s, key_id = %(key_id)s
WHERE account_id = %(account_id)s AND id = %(id)s;

-- ------------------------------------------------------------------------- the shipment outbox

-- name: next_package_id
-- The account's next package number, counted in its package_numbers row. Two shipments at
-- once: the second waits for the first's row lock (ON CONFLICT) and counts on from the
-- first's committed number, so none share one (a MAX(package_id) + 1 alone would, in READ
-- COMMITTED). Never below a number already stored: a store from before the counter starts
-- after its packages.
INSERT INTO package_numbers (account_id, last_package_id) VALUES (
    %(account_id)s,
    (SELECT COALESCE(MAX(package_id), 0) + 1 FROM shipments WHERE account_id = %(account_id)s)
)
ON CONFLICT (account_id) DO UPDATE SET
    last_package_id = GREATEST(package_numbers.last_package_id + 1, excluded.last_package_id)
RETURNING last_package_id;

-- name: package_order
SELECT amazon_order_id FROM shipments WHERE account_id = %(account_id)s AND package_id = %(package_id)s;

-- name: lock_packages
-- Taken first by a recording that looks for the same confirmation before it makes a new
-- package, so two recordings of one account never both miss each other (ON CONFLICT locks the counter row: a second
-- recording of the account waits here for the first's commit, then sees its package).
INSERT INTO package_numbers (account_id, last_package_id) VALUES (
    %(account_id)s,
    (SELECT COALESCE(MAX(package_id), 0) FROM shipments WHERE account_id = %(account_id)s)
)
ON CONFLICT (account_id) DO UPDATE SET last_package_id = package_numbers.last_package_id
RETURNING last_package_id;

-- name: find_request
-- The package a form's one-time token recorded (or found), if any.
SELECT package_id FROM ship_requests
WHERE account_id = %(account_id)s AND token = %(token)s;

-- name: insert_request
INSERT INTO ship_requests (account_id, token, package_id, created_at)
VALUES (%(account_id)s, %(token)s, %(package_id)s, %(now)s);

-- name: insert_shipment
-- A new package: a plain insert; a number the account already has fails (never overwrites).
INSERT INTO shipments (
    account_id, package_id, amazon_order_id, state, carrier, carrier_name, shipping_method,
    tracking_number, ship_date, items, all_items, created_at, updated_at
) VALUES (
    %(account_id)s, %(package_id)s, %(amazon_order_id)s, 'pending', %(carrier)s,
    %(carrier_name)s, %(shipping_method)s, %(tracking_number)s, %(ship_date)s, %(items)s,
    %(all_items)s, %(now)s, %(now)s
);

-- name: correct_shipment
-- The seller corrects a package of the same order: new details, pending again, the next
-- revision (an outcome of a send of an earlier revision no longer applies to it; a sender
-- that holds the package keeps holding it and sends the new revision after its own).
UPDATE shipments SET state = 'pending', carrier = %(carrier)s, carrier_name = %(carrier_name)s,
    shipping_method = %(shipping_method)s, tracking_number = %(tracking_number)s,
    ship_date = %(ship_date)s, items = %(items)s, all_items = %(all_items)s,
    code = NULL, message = NULL, revision = revision + 1, updated_at = %(now)s
WHERE account_id = %(account_id)s AND package_id = %(package_id)s;

-- name: resend_shipment
-- The same confirmation again for a refused package (its order imported since, say): pending
-- again as it is, the next revision.
UPDATE shipments SET state = 'pending', code = NULL, message = NULL, revision = revision + 1,
    updated_at = %(now)s
WHERE account_id = %(account_id)s AND package_id = %(package_id)s AND state = 'refused';

-- name: pending_shipments
SELECT * FROM shipments WHERE account_id = %(account_id)s AND state = 'pending'
ORDER BY package_id;

-- name: claim_shipment
-- %(sender)s takes a pending package to send it (one sender a package at a time, so the
-- order Amazon gets its revisions in is the order their outcomes are recorded in): free, its
-- sender's time is up, already its own, or held by %(replaces)s (a sender found dead). The
-- row as claimed comes back: what is sent and its revision.
UPDATE shipments SET sender = %(sender)s, sender_until = %(until)s
WHERE account_id = %(account_id)s AND package_id = %(package_id)s AND state = 'pending'
    AND (sender IS NULL OR sender_until <= %(now)s OR sender = %(sender)s
         OR sender = %(replaces)s)
RETURNING *;

-- name: get_shipment
SELECT * FROM shipments WHERE account_id = %(account_id)s AND package_id = %(package_id)s;

-- name: record_outcome
-- The outcome of %(sender)s's send of %(revision)s: it applies only while that is still the
-- package's revision; a package corrected meanwhile stays pending (what Amazon has may be the
-- revision sent) and is sent again. Releases the package either way; a row back when the
-- sender still held it.
UPDATE shipments SET
    state = CASE WHEN revision = %(revision)s THEN %(state)s ELSE 'pending' END,
    code = CASE WHEN revision = %(revision)s THEN %(code)s ELSE code END,
    message = CASE WHEN revision = %(revision)s THEN %(message)s ELSE message END,
    items = CASE WHEN revision = %(revision)s THEN COALESCE(CAST(%(items)s AS TEXT), items)
        ELSE items END,
    attempts = attempts + 1, updated_at = %(now)s,
    confirmed_at = CASE WHEN revision = %(revision)s AND %(state)s = 'confirmed' THEN %(now)s
        ELSE confirmed_at END,
    sender = NULL, sender_until = NULL
WHERE account_id = %(account_id)s AND package_id = %(package_id)s AND sender = %(sender)s
RETURNING revision, state;

-- name: withdraw_shipment
-- The seller withdraws a refused package (Amazon never took it): it leaves the outbox; its
-- number is never given out again (package_numbers keeps counting).
DELETE FROM shipments WHERE account_id = %(account_id)s AND package_id = %(package_id)s
    AND amazon_order_id = %(amazon_order_id)s AND state = 'refused';

-- name: forget_requests
-- The one-time tokens of a withdrawn package: sent again, a form records a new package.
DELETE FROM ship_requests WHERE account_id = %(account_id)s AND package_id = %(package_id)s;

-- name: release_shipment
-- %(sender)s gives the package back unsent.
UPDATE shipments SET sender = NULL, sender_until = NULL
WHERE account_id = %(account_id)s AND package_id = %(package_id)s AND sender = %(sender)s;

-- name: list_shipments
-- NULL filters: all.
SELECT * FROM shipments WHERE (%(account_id)s::text IS NULL OR account_id = %(account_id)s)
    AND (%(amazon_order_id)s::text IS NULL OR amazon_order_id = %(amazon_order_id)s)
ORDER BY account_id, package_id;

-- name: count_pending_shipments
SELECT COUNT(*) AS n FROM shipments WHERE account_id = %(account_id)s AND state = 'pending';

-- ------------------------------------------------------------------------------------- fencing

-- name: lease_held
-- Whether %(owner)s still holds the account's lease, in the write transaction it fences:
-- FOR SHARE keeps a takeover (which updates the row) waiting until that transaction ends,
-- so what it commits was written under the lease.
SELECT 1 FROM sync_locks WHERE account_id = %(account_id)s AND owner = %(owner)s FOR SHARE;

-- ---------------------------------------------------------------------------------- the leases
-- Each runs alone, in a transaction of its own (refhost/store/leases.py).

-- name: lease_take
-- Take the account's lease for %(owner)s if it is free, expired, already its own or held by
-- %(replaces)s (a holder found dead); one statement, so two takers never both win: ON
-- CONFLICT locks the row and checks the condition against its latest version. A row back
-- when %(owner)s holds it now.
INSERT INTO sync_locks (account_id, owner, expires_at)
VALUES (%(account_id)s, %(owner)s, %(expires_at)s)
ON CONFLICT (account_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE sync_locks.expires_at <= %(now)s OR sync_locks.owner = %(owner)s
    OR sync_locks.owner = %(replaces)s
RETURNING owner;

-- name: lease_holder
SELECT owner, expires_at FROM sync_locks WHERE account_id = %(account_id)s;

-- name: lease_renew
-- A row back when %(owner)s still holds the lease.
UPDATE sync_locks SET expires_at = %(expires_at)s
WHERE account_id = %(account_id)s AND owner = %(owner)s
RETURNING owner;

-- name: lease_release
DELETE FROM sync_locks WHERE account_id = %(account_id)s AND owner = %(owner)s;

-- ------------------------------------------------------------------------- the invoice outbox

-- name: record_invoice
-- Keep an invoice as pending, before it is sent. The same order, number and document type
-- again: a pending or refused one takes the new file and totals (the seller corrects it) and
-- is pending again, without its old feed; one Amazon has (uploaded, accepted) stays as it is.
INSERT INTO invoices (
    account_id, amazon_order_id, invoice_number, document_type, state, total_amount,
    total_vat_amount, currency, transaction_id, pdf, key_id, sha256, created_at, updated_at
) VALUES (
    %(account_id)s, %(amazon_order_id)s, %(invoice_number)s, %(document_type)s, 'pending',
    %(total_amount)s, %(total_vat_amount)s, %(currency)s, %(transaction_id)s, %(pdf)s, %(key_id)s,
    %(sha256)s, %(now)s, %(now)s
)
ON CONFLICT (account_id, amazon_order_id, invoice_number, document_type) DO UPDATE SET
    state = 'pending', total_amount = excluded.total_amount,
    total_vat_amount = excluded.total_vat_amount, currency = excluded.currency,
    transaction_id = excluded.transaction_id, pdf = excluded.pdf, key_id = excluded.key_id,
    sha256 = excluded.sha256, feed_id = NULL, code = NULL, message = NULL,
    updated_at = excluded.updated_at
WHERE invoices.state IN ('pending', 'refused');

-- name: get_invoice
SELECT * FROM invoices WHERE account_id = %(account_id)s AND amazon_order_id = %(amazon_order_id)s
    AND invoice_number = %(invoice_number)s AND document_type = %(document_type)s;

-- name: invoices_to_send
-- What goes to Amazon: pending ones, and uploaded ones whose verdict is still to be asked.
SELECT * FROM invoices WHERE account_id = %(account_id)s AND state IN ('pending', 'uploaded')
ORDER BY created_at, amazon_order_id, invoice_number, document_type;

-- name: record_invoice_outcome
-- The outcome of a send: accepted drops the PDF (Amazon has it); the feed id comes from the
-- outcome (one to retry: only the one it names, so a feed Amazon gave up on is not asked again).
UPDATE invoices SET state = %(state)s, code = %(code)s, message = %(message)s,
    feed_id = CASE WHEN %(state)s::text = 'pending' THEN %(feed_id)s::text
        ELSE COALESCE(%(feed_id)s::text, feed_id) END, attempts = attempts + 1, updated_at = %(now)s,
    pdf = CASE WHEN %(state)s::text = 'accepted' THEN NULL ELSE pdf END,
    key_id = CASE WHEN %(state)s::text = 'accepted' THEN NULL ELSE key_id END
WHERE account_id = %(account_id)s AND amazon_order_id = %(amazon_order_id)s
    AND invoice_number = %(invoice_number)s AND document_type = %(document_type)s;

-- name: withdraw_invoice
-- The seller withdraws a refused invoice: it leaves the outbox (Amazon never took it).
DELETE FROM invoices WHERE account_id = %(account_id)s
    AND amazon_order_id = %(amazon_order_id)s AND invoice_number = %(invoice_number)s
    AND document_type = %(document_type)s AND state = 'refused';

-- name: list_invoices
-- NULL filters: all.
SELECT * FROM invoices WHERE (%(account_id)s::text IS NULL OR account_id = %(account_id)s)
    AND (%(state)s::text IS NULL OR state = %(state)s)
    AND (%(amazon_order_id)s::text IS NULL OR amazon_order_id = %(amazon_order_id)s)
ORDER BY account_id, created_at, amazon_order_id, invoice_number, document_type;

-- name: invoices_not_under_key
-- The PDFs a key rotation seals again.
SELECT account_id, amazon_order_id, invoice_number, document_type, pdf FROM invoices
WHERE pdf IS NOT NULL AND key_id <> %(key_id)s;

-- name: reseal_invoice
UPDATE invoices SET pdf = %(pdf)s, key_id = %(key_id)s
WHERE account_id = %(account_id)s AND amazon_order_id = %(amazon_order_id)s
    AND invoice_number = %(invoice_number)s AND document_type = %(document_type)s;
