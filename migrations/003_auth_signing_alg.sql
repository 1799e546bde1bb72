-- Signing keys of more than one algorithm (auth.signing_alg): EdDSA keys
-- (Ed25519: 32-byte public key, 64-byte libsodium secret key) and ES256
-- keys (ECDSA P-256: 65-byte uncompressed point 04||x||y, 32-byte
-- big-endian scalar). SQLite cannot change a CHECK in place, so the table
-- is rebuilt; no other table references it. A retired key keeps a
-- zero-filled private key of its own length.
CREATE TABLE signing_keys_new (
	kid         TEXT PRIMARY KEY,
	alg         TEXT NOT NULL DEFAULT 'EdDSA' CHECK (alg IN ('EdDSA', 'ES256')),
	public_key  BLOB NOT NULL,
	private_key BLOB NOT NULL,
	state       TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
	created_at  INTEGER NOT NULL,
	retire_at   INTEGER,
	retired_at  INTEGER,
	CHECK ((alg = 'EdDSA' AND length(public_key) = 32 AND length(private_key) = 64)
	    OR (alg = 'ES256' AND length(public_key) = 65 AND length(private_key) = 32))
) STRICT;
INSERT INTO signing_keys_new (kid, alg, public_key, private_key, state,
    created_at, retire_at, retired_at)
	SELECT kid, alg, public_key, private_key, state, created_at, retire_at,
	    retired_at FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_new RENAME TO signing_keys;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';
