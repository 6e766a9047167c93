"""PostgreSQL tables and functions of the shared ledger (one round trip per operation).

``{p}admit`` decides a batch of admits in one statement (``{p}admit1`` is the same for a batch
of one admit on one budget, with scalar arguments). It first compares the policy version
the caller decided with against ``{p}policy_version`` (bumped in the same statement as every
policy PUT or DELETE): when they differ it decides nothing and answers "stale", so the caller
reloads the policies and asks again, and a limit acknowledged by one replica binds the next
admit on every replica. Then it locks the counter rows of every budget the batch touches in
key order (the caller sorts; one order everywhere means no deadlocks), ages rolling holds out,
and for each request in turn checks ``used + reserved + estimate <= cap`` on all its budgets
and only then reserves on all of them and records the reservation with its owner (all or none
per request).

``{p}charge`` charges a batch of actual usages, each once by its charge id: it locks the named
reservations (in id order), then every counter involved (in key order), then for each charge
inserts its record (a conflict on the id means "already charged") and settles its reservation,
or charges the budgets the caller computed when the reservation is unknown, foreign or long
expired. ``{p}expire`` claims due reservations with SKIP LOCKED and releases their holds,
counter by counter in key order; it runs one at a time across replicas (a transaction
advisory lock taken before any row lock), so once it returns every reservation due at its
``now`` that no settle holds is released, by it or by the one it waited for. Lock order
everywhere: reservations, then counters.

Every addition saturates at 2^61 (``LEAST``), so no counter can overflow ``bigint``.
``{p}schema`` holds the digest of the installed DDL: a sidecar finding its own runs none.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sidecar.budgets.model import COUNTER_MAX
from sidecar.budgets.pg_admit_sql import admit_one_sql, admit_version_check, lock_counter_sql

C = COUNTER_MAX


TABLES = ("counters", "reservations", "holds", "policies", "policy_version", "policy_deletions",
          "charges", "charge_totals", "schema")  # fmt: skip
FUNCTIONS = ("admit", "admit1", "charge", "expire", "age", "compact", "settle")


async def install_schema(conn: Any, p: str) -> bool:
    """Create or upgrade the tables and functions of prefix ``p`` on ``conn`` (in the caller's
    transaction, under its DDL lock), unless ``{p}schema`` says this very schema is installed:
    then nothing is run. So a replica of the same version starting beside others that are
    admitting takes no table lock (an ALTER TABLE takes ACCESS EXCLUSIVE even when it changes
    nothing, and would deadlock with an admit in flight). True when the DDL ran."""
    digest = hashlib.sha256(schema_sql(p).encode()).hexdigest()
    installed = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{p}schema")
    if installed and await conn.fetchval(f"SELECT digest FROM {p}schema WHERE id = 1") == digest:
        return False
    await conn.execute(schema_sql(p))
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {p}schema (id int PRIMARY KEY CHECK (id = 1), "
        "digest text NOT NULL)"
    )
    await conn.execute(
        f"INSERT INTO {p}schema VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET digest = $1", digest
    )
    return True


def schema_sql(p: str) -> str:
    """DDL for table prefix ``p`` (idempotent, upgrades tables of earlier versions)."""
    return f"""
CREATE TABLE IF NOT EXISTS {p}counters (
  bkey text NOT NULL, window_start float8 NOT NULL, window_end float8 NOT NULL,
  tokens_used bigint NOT NULL DEFAULT 0, cost_used bigint NOT NULL DEFAULT 0,
  tokens_reserved bigint NOT NULL DEFAULT 0, cost_reserved bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (bkey, window_start));
CREATE TABLE IF NOT EXISTS {p}reservations (
  rid text PRIMARY KEY, created float8 NOT NULL, expires_at float8 NOT NULL,
  tokens bigint NOT NULL, cost bigint NOT NULL, bkeys text[] NOT NULL, wstarts float8[] NOT NULL,
  state smallint NOT NULL DEFAULT 0);
ALTER TABLE {p}reservations ADD COLUMN IF NOT EXISTS tenant text;
ALTER TABLE {p}reservations ADD COLUMN IF NOT EXISTS user_id text;
ALTER TABLE {p}reservations ADD COLUMN IF NOT EXISTS model text;
CREATE INDEX IF NOT EXISTS {p}reservations_due ON {p}reservations (expires_at) WHERE state = 0;
CREATE TABLE IF NOT EXISTS {p}holds (
  bkey text NOT NULL, rid text NOT NULL, ts float8 NOT NULL, tokens bigint NOT NULL,
  cost bigint NOT NULL, settled boolean NOT NULL DEFAULT false, PRIMARY KEY (bkey, rid));
CREATE INDEX IF NOT EXISTS {p}holds_age ON {p}holds (bkey, ts);
CREATE TABLE IF NOT EXISTS {p}policies (
  scope text NOT NULL, id text NOT NULL, model text NOT NULL, body text NOT NULL,
  PRIMARY KEY (scope, id, model));
CREATE TABLE IF NOT EXISTS {p}policy_version (
  id int PRIMARY KEY CHECK (id = 1), version bigint NOT NULL);
INSERT INTO {p}policy_version VALUES (1, 0) ON CONFLICT DO NOTHING;
-- Each policy row and each deletion names the version that wrote it, so a replica reloads only
-- what changed since the version it holds (O(changes)); deletions older than a day are pruned
-- and a replica behind ``pruned`` reloads everything.
ALTER TABLE {p}policies ADD COLUMN IF NOT EXISTS ver bigint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS {p}policies_ver ON {p}policies (ver);
ALTER TABLE {p}policy_version ADD COLUMN IF NOT EXISTS pruned bigint NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS {p}policy_deletions (
  scope text NOT NULL, id text NOT NULL, model text NOT NULL, ver bigint NOT NULL,
  at float8 NOT NULL, PRIMARY KEY (scope, id, model));
CREATE INDEX IF NOT EXISTS {p}policy_deletions_ver ON {p}policy_deletions (ver);
CREATE TABLE IF NOT EXISTS {p}charges (
  charge_id text PRIMARY KEY, rid text, ts float8 NOT NULL, tokens bigint NOT NULL,
  cost bigint NOT NULL, bkeys text[] NOT NULL, wstarts float8[] NOT NULL);
CREATE INDEX IF NOT EXISTS {p}charges_rid ON {p}charges (rid) WHERE rid IS NOT NULL;
CREATE INDEX IF NOT EXISTS {p}charges_ts ON {p}charges (ts);
CREATE TABLE IF NOT EXISTS {p}charge_totals (
  bkey text NOT NULL, window_start float8 NOT NULL, tokens bigint NOT NULL, cost bigint NOT NULL,
  n bigint NOT NULL, PRIMARY KEY (bkey, window_start));

CREATE OR REPLACE FUNCTION {p}age(k text, horizon float8) RETURNS void AS $$
DECLARE ut numeric; uc numeric; rt numeric; rc numeric;
BEGIN
  WITH d AS (DELETE FROM {p}holds WHERE bkey = k AND ts <= horizon
             RETURNING tokens, cost, settled)
  SELECT coalesce(sum(tokens) FILTER (WHERE settled), 0),
         coalesce(sum(cost) FILTER (WHERE settled), 0),
         coalesce(sum(tokens) FILTER (WHERE NOT settled), 0),
         coalesce(sum(cost) FILTER (WHERE NOT settled), 0)
    INTO ut, uc, rt, rc FROM d;
  IF ut <> 0 OR uc <> 0 OR rt <> 0 OR rc <> 0 THEN
    UPDATE {p}counters SET tokens_used = greatest(tokens_used - ut, 0)::bigint,
      cost_used = greatest(cost_used - uc, 0)::bigint,
      tokens_reserved = greatest(tokens_reserved - rt, 0)::bigint,
      cost_reserved = greatest(cost_reserved - rc, 0)::bigint
    WHERE bkey = k AND window_start = -1;
  END IF;
END $$ LANGUAGE plpgsql;

DROP FUNCTION IF EXISTS {p}admit(text[], float8[], float8[], float8[], bigint[], bigint[],
  int[], int[], bigint[], bigint[], text[], float8, float8);
CREATE OR REPLACE FUNCTION {p}admit(
  k text[], ws float8[], we float8[], roll float8[], mt bigint[], mc bigint[],
  rb int[], ro int[], est_t bigint[], est_c bigint[], rids text[], p_now float8, p_exp float8,
  p_ver bigint, tenants text[], users text[], models text[])
RETURNS TABLE (failed int, tu bigint[], cu bigint[], tr bigint[], cr bigint[])
AS $$
-- k..mc: the distinct budgets of the batch, sorted by (k, ws). Request j uses budgets
-- rb[ro[j] .. ro[j+1]-1] (indexes into k), in that order. Requests are decided in order.
-- failed: 0 granted, q > 0 denied by its q-th budget, -1 the policies changed (nothing done).
DECLARE i int; j int; b int; q int; nk int := coalesce(array_length(k, 1), 0);
  nr int := array_length(rids, 1);
  xtu bigint[]; xcu bigint[]; xtr bigint[]; xcr bigint[]; changed boolean[]; c record;
  rk text[]; rw float8[];
BEGIN
{admit_version_check(p)}  FOR i IN 1..nk LOOP
{lock_counter_sql(p, "k[i]", "ws[i]", "we[i]", "roll[i]")}
    xtu[i] := c.tokens_used; xcu[i] := c.cost_used;
    xtr[i] := c.tokens_reserved; xcr[i] := c.cost_reserved; changed[i] := false;
  END LOOP;
  FOR j IN 1..nr LOOP
    failed := 0; tu := '{{}}'; cu := '{{}}'; tr := '{{}}'; cr := '{{}}';
    FOR q IN ro[j]..ro[j + 1] - 1 LOOP
      b := rb[q];
      IF (mt[b] >= 0 AND xtu[b] + xtr[b] + est_t[j] > mt[b])
         OR (mc[b] >= 0 AND xcu[b] + xcr[b] + est_c[j] > mc[b]) THEN
        failed := q - ro[j] + 1;
        tu := tu || xtu[b]; cu := cu || xcu[b]; tr := tr || xtr[b]; cr := cr || xcr[b];
        EXIT;
      END IF;
    END LOOP;
    IF failed = 0 THEN
      rk := '{{}}'; rw := '{{}}';
      FOR q IN ro[j]..ro[j + 1] - 1 LOOP
        b := rb[q]; rk := rk || k[b]; rw := rw || ws[b];
        xtr[b] := least(xtr[b] + est_t[j], {C}); xcr[b] := least(xcr[b] + est_c[j], {C});
        changed[b] := true;
        tu := tu || xtu[b]; cu := cu || xcu[b]; tr := tr || xtr[b]; cr := cr || xcr[b];
        IF roll[b] > 0 THEN
          INSERT INTO {p}holds (bkey, rid, ts, tokens, cost)
            VALUES (k[b], rids[j], p_now, est_t[j], est_c[j]);
        END IF;
      END LOOP;
      IF ro[j + 1] > ro[j] THEN  -- no budget applies: allowed, nothing to reserve
        INSERT INTO {p}reservations (rid, created, expires_at, tokens, cost, bkeys, wstarts,
                                     tenant, user_id, model)
          VALUES (rids[j], p_now, p_exp, est_t[j], est_c[j], rk, rw, tenants[j], users[j],
                  models[j]);
      END IF;
    END IF;
    RETURN NEXT;
  END LOOP;
  FOR i IN 1..nk LOOP
    IF changed[i] THEN
      UPDATE {p}counters SET tokens_reserved = xtr[i], cost_reserved = xcr[i]
        WHERE bkey = k[i] AND window_start = ws[i];
    END IF;
  END LOOP;
END $$ LANGUAGE plpgsql;

DROP FUNCTION IF EXISTS {p}settle(text, bigint, bigint);
DROP FUNCTION IF EXISTS {p}charge(text[], text[], text[], boolean[], boolean[], bigint[],
  bigint[], text[], float8[], float8[], float8[], int[], int[], float8, float8, bigint);

CREATE OR REPLACE FUNCTION {p}charge(
  cids text[], rids text[], tenants text[], any_tenant boolean[], direct boolean[],
  a_t bigint[], a_c bigint[], k text[], ws float8[], we float8[], roll float8[],
  rb int[], ro int[], p_now float8, p_late float8, p_ver bigint, unknown boolean[])
RETURNS int[] AS $$
-- Charge i has id cids[i], names reservation rids[i] (or NULL) and may be charged directly to
-- budgets rb[ro[i] .. ro[i+1]-1] (indexes into k..roll, sorted by (k, ws)) when direct[i].
-- Answers one outcome per charge: 1 settled, 2 charged directly, 3 duplicate, 4 unknown,
-- 5 nothing to charge; or {{-1}} when the policies changed (nothing done). unknown[i]: nobody
-- counted the tokens, so a settle charges the reservation's estimate.
DECLARE n int := array_length(cids, 1); i int; q int; b int; r record; out int[];
  plan int[]; rk text[]; rw float8[]; rtok bigint[]; rcost bigint[]; ropen boolean[];
  allk text[] := '{{}}'; allw float8[] := '{{}}'; allwe float8[] := '{{}}'; x record;
  keys text[]; wsts float8[]; done boolean;
BEGIN
  IF p_ver IS DISTINCT FROM (SELECT version FROM {p}policy_version WHERE id = 1) THEN
    RETURN ARRAY[-1];
  END IF;
  out := array_fill(0, ARRAY[n]); plan := array_fill(0, ARRAY[n]);
  rtok := array_fill(0::bigint, ARRAY[n]); rcost := rtok; ropen := array_fill(false, ARRAY[n]);
  PERFORM 1 FROM {p}reservations WHERE rid = ANY(rids) ORDER BY rid FOR UPDATE;
  -- Plan: 1 settle the reservation, 2 charge directly, else the final outcome.
  FOR i IN 1..n LOOP
    IF rids[i] IS NOT NULL THEN
      SELECT * INTO r FROM {p}reservations WHERE rid = rids[i];
      IF FOUND AND (any_tenant[i] OR r.tenant IS NOT DISTINCT FROM tenants[i])
         AND NOT r.expires_at + p_late < p_now THEN
        plan[i] := 1; ropen[i] := r.state = 0; rtok[i] := r.tokens; rcost[i] := r.cost;
        IF unknown[i] THEN a_t[i] := r.tokens; a_c[i] := r.cost; END IF;
        allk := allk || r.bkeys; allw := allw || r.wstarts;
        allwe := allwe || array_fill(NULL::float8, ARRAY[array_length(r.bkeys, 1)]);
        CONTINUE;
      ELSIF NOT FOUND AND EXISTS (SELECT 1 FROM {p}charges WHERE rid = rids[i]) THEN
        out[i] := 3; CONTINUE;
      ELSIF NOT direct[i] THEN
        out[i] := 4; CONTINUE;
      END IF;
    END IF;
    IF ro[i + 1] > ro[i] THEN
      plan[i] := 2;
      FOR q IN ro[i]..ro[i + 1] - 1 LOOP
        b := rb[q]; allk := allk || k[b]; allw := allw || ws[b]; allwe := allwe || we[b];
      END LOOP;
    ELSE
      out[i] := 5;
    END IF;
  END LOOP;
  -- Lock every counter involved, in key order (creating those a direct charge needs).
  FOR x IN SELECT u.k AS bk, u.w AS bw, max(u.e) AS be
           FROM unnest(allk, allw, allwe) AS u(k, w, e) GROUP BY u.k, u.w ORDER BY u.k, u.w LOOP
    IF x.be IS NOT NULL THEN
      INSERT INTO {p}counters (bkey, window_start, window_end) VALUES (x.bk, x.bw, x.be)
        ON CONFLICT DO NOTHING;
    END IF;
    PERFORM 1 FROM {p}counters WHERE bkey = x.bk AND window_start = x.bw FOR UPDATE;
    IF x.be IS NOT NULL THEN
      UPDATE {p}counters SET window_end = x.be
        WHERE bkey = x.bk AND window_start = x.bw AND window_end < x.be;
    END IF;
  END LOOP;
  FOR i IN 1..n LOOP
    CONTINUE WHEN plan[i] = 0;
    IF plan[i] = 1 THEN
      SELECT bkeys, wstarts INTO keys, wsts FROM {p}reservations WHERE rid = rids[i];
      IF NOT FOUND THEN out[i] := 3; CONTINUE; END IF;  -- settled by an earlier charge here
    ELSE
      keys := '{{}}'; wsts := '{{}}';
      FOR q IN ro[i]..ro[i + 1] - 1 LOOP
        keys := keys || k[rb[q]]; wsts := wsts || ws[rb[q]];
      END LOOP;
    END IF;
    INSERT INTO {p}charges (charge_id, rid, ts, tokens, cost, bkeys, wstarts)
      VALUES (cids[i], CASE WHEN plan[i] = 1 THEN rids[i] END, p_now, a_t[i], a_c[i], keys, wsts)
      ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS q = ROW_COUNT;
    IF q = 0 THEN out[i] := 3; CONTINUE; END IF;
    IF plan[i] = 1 THEN
      FOR q IN 1..array_length(keys, 1) LOOP
        IF wsts[q] = -1 THEN
          UPDATE {p}holds SET tokens = a_t[i], cost = a_c[i], settled = true
            WHERE bkey = keys[q] AND rid = rids[i];
          CONTINUE WHEN NOT FOUND;  -- aged out of its rolling window
        END IF;
        UPDATE {p}counters SET
          tokens_reserved = tokens_reserved - CASE WHEN ropen[i] THEN rtok[i] ELSE 0 END,
          cost_reserved = cost_reserved - CASE WHEN ropen[i] THEN rcost[i] ELSE 0 END,
          tokens_used = least(tokens_used + a_t[i], {C}), cost_used = least(cost_used + a_c[i], {C})
          WHERE bkey = keys[q] AND window_start = wsts[q];
      END LOOP;
      DELETE FROM {p}reservations WHERE rid = rids[i];
      out[i] := 1;
    ELSE
      FOR q IN ro[i]..ro[i + 1] - 1 LOOP
        b := rb[q];
        IF roll[b] > 0 THEN
          PERFORM {p}age(k[b], p_now - roll[b]);
          INSERT INTO {p}holds (bkey, rid, ts, tokens, cost, settled)
            VALUES (k[b], cids[i], p_now, a_t[i], a_c[i], true) ON CONFLICT DO NOTHING;
        END IF;
        UPDATE {p}counters SET tokens_used = least(tokens_used + a_t[i], {C}),
          cost_used = least(cost_used + a_c[i], {C})
          WHERE bkey = k[b] AND window_start = ws[b];
      END LOOP;
      out[i] := 2;
    END IF;
  END LOOP;
  RETURN out;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION {p}expire(p_now float8, p_limit int) RETURNS int AS $$
DECLARE rids text[]; ks text[]; wss float8[]; tts numeric[]; ccs numeric[];
  i int; t numeric; c numeric;
BEGIN
  -- One expire at a time (every replica's): a second one waits here for the first to commit,
  -- so what SKIP LOCKED passes over below is never a due reservation still being released.
  PERFORM pg_advisory_xact_lock(hashtext('{p}expire'));
  WITH ex AS (
    UPDATE {p}reservations SET state = 2 WHERE rid IN (
      SELECT rid FROM {p}reservations WHERE state = 0 AND expires_at <= p_now
      ORDER BY expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING rid, tokens, cost, bkeys, wstarts),
  u AS (SELECT ex.rid, ex.tokens, ex.cost, x.k, x.w
        FROM ex, unnest(ex.bkeys, ex.wstarts) AS x(k, w)),
  g AS (SELECT k, w, sum(tokens) AS t, sum(cost) AS c FROM u GROUP BY k, w)
  SELECT (SELECT array_agg(rid) FROM ex), array_agg(k ORDER BY k, w), array_agg(w ORDER BY k, w),
         array_agg(g.t ORDER BY k, w), array_agg(g.c ORDER BY k, w)
    INTO rids, ks, wss, tts, ccs FROM g;
  IF rids IS NULL THEN RETURN 0; END IF;
  FOR i IN 1..array_length(ks, 1) LOOP
    PERFORM 1 FROM {p}counters WHERE bkey = ks[i] AND window_start = wss[i] FOR UPDATE;
    IF wss[i] = -1 THEN
      SELECT coalesce(sum(tokens), 0), coalesce(sum(cost), 0) INTO t, c FROM {p}holds
        WHERE bkey = ks[i] AND rid = ANY(rids) AND NOT settled;
      UPDATE {p}holds SET tokens = 0, cost = 0
        WHERE bkey = ks[i] AND rid = ANY(rids) AND NOT settled;
    ELSE
      t := tts[i]; c := ccs[i];
    END IF;
    UPDATE {p}counters SET tokens_reserved = greatest(tokens_reserved - t, 0)::bigint,
      cost_reserved = greatest(cost_reserved - c, 0)::bigint
      WHERE bkey = ks[i] AND window_start = wss[i];
  END LOOP;
  RETURN array_length(rids, 1);
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION {p}compact(p_before float8, p_limit int) RETURNS int AS $$
-- Fold charges older than p_before into per-window totals (calendar windows only: rolling
-- ones are recorded by their holds) and delete them.
DECLARE n int;
BEGIN
  WITH d AS (DELETE FROM {p}charges WHERE charge_id IN (
               SELECT charge_id FROM {p}charges WHERE ts < p_before ORDER BY ts LIMIT p_limit)
             RETURNING tokens, cost, bkeys, wstarts),
  u AS (SELECT x.k, x.w, d.tokens, d.cost FROM d, unnest(d.bkeys, d.wstarts) AS x(k, w)
        WHERE x.w <> -1),
  g AS (SELECT k, w, least(sum(tokens), {C})::bigint AS t, least(sum(cost), {C})::bigint AS c,
               count(*) AS cnt FROM u GROUP BY k, w),
  ins AS (INSERT INTO {p}charge_totals AS ct (bkey, window_start, tokens, cost, n)
          SELECT k, w, t, c, cnt FROM g ORDER BY k, w
          ON CONFLICT (bkey, window_start) DO UPDATE SET
            tokens = least(ct.tokens + EXCLUDED.tokens, {C}),
            cost = least(ct.cost + EXCLUDED.cost, {C}), n = ct.n + EXCLUDED.n)
  SELECT count(*) INTO n FROM d;
  RETURN n;
END $$ LANGUAGE plpgsql;
""" + admit_one_sql(p)
