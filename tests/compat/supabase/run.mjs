// The unmodified @supabase/supabase-js against Luxima's /auth/v1 (issue #3).
// Run by tests/integration/test_supabase_js.py with the server's URL and
// the server's auth.signing_alg (EdDSA when left out):
//
//   node run.mjs http://127.0.0.1:PORT [EdDSA|ES256]
//
// Prints one line per step ("ok <step>") and exits non-zero on the first
// failed expectation. The client is used as an app would use it; nothing
// of it is patched.
import { createClient } from '@supabase/supabase-js'
import WebSocket from 'ws'
import assert from 'node:assert/strict'
import { webcrypto } from 'node:crypto'

const url = process.argv[2]
const alg = process.argv[3] || 'EdDSA'
assert.ok(url && ['EdDSA', 'ES256'].includes(alg), 'usage: node run.mjs URL [EdDSA|ES256]')
// Luxima has no anon key yet: any apikey is accepted.
const anonKey = 'luxima-compat-test'
const options = {
  auth: { persistSession: true, autoRefreshToken: false, detectSessionInUrl: false },
  realtime: { transport: WebSocket },
}
const supabase = createClient(url, anonKey, options)
const email = `compat.${Date.now()}@example.com`
const password = 'a long enough passphrase'
const newPassword = 'another long passphrase'

function ok(step) {
  console.log('ok ' + step)
}

function b64url(s) {
  return Buffer.from(s, 'base64url')
}

// signUp: a session at once (no email confirmation required by default).
{
  const { data, error } = await supabase.auth.signUp({
    email,
    password,
    options: { data: { name: 'Compat', plan: 'free' } },
  })
  assert.equal(error, null, String(error))
  assert.ok(data.session, 'signUp returned no session')
  assert.equal(data.user.email, email)
  assert.equal(data.user.aud, 'authenticated')
  assert.equal(data.user.role, 'authenticated')
  assert.deepEqual(data.user.user_metadata, { name: 'Compat', plan: 'free' })
  assert.equal(data.user.app_metadata.provider, 'email')
  assert.equal(data.user.identities.length, 1)
  assert.equal(data.session.token_type, 'bearer')
  assert.ok(data.session.expires_in > 0 && data.session.expires_at > 0)
  ok('signUp')
}

// A weak password: AuthWeakPasswordError with reasons.
{
  const { data, error } = await supabase.auth.signUp({
    email: 'weak.' + email,
    password: 'password',
  })
  assert.equal(data.user, null)
  assert.equal(error.name, 'AuthWeakPasswordError')
  assert.equal(error.status, 422)
  assert.equal(error.code, 'weak_password')
  assert.ok(error.reasons.includes('length'), JSON.stringify(error.reasons))
  ok('signUp weak password')
}

// A wrong password: AuthApiError, 400, invalid_credentials.
{
  const other = createClient(url, anonKey, options)
  const { data, error } = await other.auth.signInWithPassword({
    email,
    password: 'not the password at all',
  })
  assert.equal(data.session, null)
  assert.equal(error.name, 'AuthApiError')
  assert.equal(error.status, 400)
  assert.equal(error.code, 'invalid_credentials')
  assert.equal(error.message, 'Invalid login credentials')
  ok('signInWithPassword wrong password')
}

// signInWithPassword, then getSession and getUser.
let session
{
  const { data, error } = await supabase.auth.signInWithPassword({ email, password })
  assert.equal(error, null, String(error))
  assert.equal(data.user.email, email)
  session = data.session
  assert.ok(session.access_token && session.refresh_token)
  ok('signInWithPassword')
}
{
  const { data, error } = await supabase.auth.getSession()
  assert.equal(error, null)
  assert.equal(data.session.access_token, session.access_token)
  ok('getSession')
}
{
  const { data, error } = await supabase.auth.getUser()
  assert.equal(error, null, String(error))
  assert.equal(data.user.email, email)
  assert.equal(data.user.user_metadata.name, 'Compat')
  ok('getUser')
}

// getClaims on an ES256 server (auth.signing_alg = ES256): supabase-js
// fetches /auth/v1/.well-known/jwks.json for the token's kid and verifies
// the signature itself with WebCrypto. A tampered token must fail.
if (alg === 'ES256') {
  const { data, error } = await supabase.auth.getClaims()
  assert.equal(error, null, String(error))
  assert.equal(data.header.alg, 'ES256')
  assert.equal(data.claims.sub, session.user.id)
  assert.equal(data.claims.email, email)
  assert.ok(data.claims.session_id, 'no session_id claim')
  assert.equal(data.claims.aud, 'authenticated')
  const [h, p, s] = session.access_token.split('.')
  const changed = { ...JSON.parse(b64url(p)), email: 'mallory@example.com' }
  const forged = h + '.' + Buffer.from(JSON.stringify(changed)).toString('base64url') + '.' + s
  const bad = await supabase.auth.getClaims(forged)
  assert.equal(bad.data, null)
  assert.ok(bad.error, 'a tampered token gave claims')
  assert.equal(bad.error.name, 'AuthInvalidJwtError')
  const sig = b64url(s)
  sig[10] ^= 1
  const flipped = await supabase.auth.getClaims(h + '.' + p + '.' + sig.toString('base64url'))
  assert.equal(flipped.data, null)
  assert.equal(flipped.error.name, 'AuthInvalidJwtError')
  ok('getClaims (ES256: verified by supabase-js)')
}

// getClaims on an EdDSA server: supabase-js verifies locally only RS256
// and ES256 tokens (getAlgorithm()). It fetches the JWKS from
// /auth/v1/.well-known/jwks.json, then stops with "Invalid alg claim".
// Verify the same token against that JWKS with WebCrypto's Ed25519
// instead, and accept either outcome from getClaims so that a client that
// learns EdDSA passes unchanged.
if (alg === 'EdDSA') {
  let claims = null
  try {
    const { data, error } = await supabase.auth.getClaims()
    assert.equal(error, null, String(error))
    claims = data.claims
  } catch (e) {
    assert.equal(e.message, 'Invalid alg claim')
  }
  if (claims) assert.equal(claims.email, email)
  const [h, p, s] = session.access_token.split('.')
  const header = JSON.parse(b64url(h))
  const res = await fetch(url + '/auth/v1/.well-known/jwks.json', {
    headers: { apikey: anonKey },
  })
  assert.equal(res.status, 200)
  const jwk = (await res.json()).keys.find((k) => k.kid === header.kid)
  assert.ok(jwk, 'the token kid is not in the JWKS')
  const key = await webcrypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, [
    'verify',
  ])
  const valid = await webcrypto.subtle.verify(
    { name: 'Ed25519' },
    key,
    b64url(s),
    Buffer.from(h + '.' + p)
  )
  assert.ok(valid, 'the JWKS does not verify the access token')
  const payload = JSON.parse(b64url(p))
  for (const k of ['sub', 'aud', 'role', 'email', 'session_id', 'aal', 'amr', 'exp', 'iat'])
    assert.ok(k in payload, 'claim ' + k + ' missing')
  assert.equal(payload.aud, 'authenticated')
  assert.equal(payload.role, 'authenticated')
  ok('getClaims' + (claims ? '' : ' (EdDSA: verified through the JWKS)'))
}

// updateUser({password}), then the new password signs in, the old not.
{
  const { data, error } = await supabase.auth.updateUser({ password: newPassword })
  assert.equal(error, null, String(error))
  assert.equal(data.user.email, email)
  const again = createClient(url, anonKey, options)
  const old = await again.auth.signInWithPassword({ email, password })
  assert.equal(old.error.code, 'invalid_credentials')
  const fresh = await again.auth.signInWithPassword({ email, password: newPassword })
  assert.equal(fresh.error, null, String(fresh.error))
  ok('updateUser password')
}

// refreshSession: a new pair; the old refresh token is spent.
let spent
{
  spent = (await supabase.auth.getSession()).data.session.refresh_token
  const { data, error } = await supabase.auth.refreshSession()
  assert.equal(error, null, String(error))
  assert.notEqual(data.session.refresh_token, spent)
  // (The access token may equal the last one within the same second:
  // same claims, same iat, deterministic Ed25519 or RFC 6979 ECDSA.)
  assert.ok(data.session.expires_at >= session.expires_at)
  session = data.session
  ok('refreshSession')
}

// signOut (global): the session is gone locally and on the server.
{
  const { error } = await supabase.auth.signOut()
  assert.equal(error, null, String(error))
  const { data } = await supabase.auth.getSession()
  assert.equal(data.session, null)
  const { data: u, error: e } = await supabase.auth.getUser(session.access_token)
  assert.equal(u.user, null)
  assert.equal(e.name, 'AuthSessionMissingError')
  ok('signOut')
}

// A refresh after sign-out fails, as does the spent token.
{
  const { data, error } = await supabase.auth.refreshSession({
    refresh_token: session.refresh_token,
  })
  assert.equal(data.session, null)
  assert.equal(error.name, 'AuthApiError')
  assert.equal(error.status, 400)
  assert.equal(error.code, 'refresh_token_not_found')
  const reused = await supabase.auth.refreshSession({ refresh_token: spent })
  assert.equal(reused.data.session, null)
  assert.equal(reused.error.status, 400)
  ok('refresh after signOut')
}

process.exit(0)
