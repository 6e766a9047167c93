"""PostgreSQL tables and functions of the shared ledger (one round trip per operation).

``{p}admit`` decides a batch of admits in one statement: it locks the counter rows of every
budget the batch touches in key order (the caller sorts; one order everywhere means no
deadlocks), ages rolling holds out, then for each request in turn checks
``used + reserved + estimate <= cap`` on all its budgets and only then reserves on all of them
and records the reservation (all or none per request). ``{p}settle`` locks the
reservation, then its counters in the same key order. ``{p}expire`` claims due reservations
with SKIP LOCKED and releases their holds, counter by counter in key order.
"""

from __future__ import annotations


def schema_sql(p: str) -> str:
    """DDL for table prefix ``p`` (idempotent)."""
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
CREATE INDEX IF NOT EXISTS {p}reservations_due ON {p}reservations (expires_at) WHERE state = 0;
CREATE TABLE IF NOT EXISTS {p}holds (
  bkey text NOT NULL, rid text NOT NULL, ts float8 NOT NULL, tokens bigint NOT NULL,
  cost bigint NOT NULL, settled boolean NOT NULL DEFAULT false, PRIMARY KEY (bkey, rid));
CREATE INDEX IF NOT EXISTS {p}holds_age ON {p}holds (bkey, ts);
CREATE TABLE IF NOT EXISTS {p}policies (
  scope text NOT NULL, id text NOT NULL, model text NOT NULL, body text NOT NULL,
  PRIMARY KEY (scope, id, model));

CREATE OR REPLACE FUNCTION {p}age(k text, horizon float8) RETURNS void AS $$
DECLARE ut bigint; uc bigint; rt bigint; rc bigint;
BEGIN
  WITH d AS (DELETE FROM {p}holds WHERE bkey = k AND ts <= horizon
             RETURNING tokens, cost, settled)
  SELECT coalesce(sum(tokens) FILTER (WHERE settled), 0),
         coalesce(sum(cost) FILTER (WHERE settled), 0),
         coalesce(sum(tokens) FILTER (WHERE NOT settled), 0),
         coalesce(sum(cost) FILTER (WHERE NOT settled), 0)
    INTO ut, uc, rt, rc FROM d;
  IF ut <> 0 OR uc <> 0 OR rt <> 0 OR rc <> 0 THEN
    UPDATE {p}counters SET tokens_used = tokens_used - ut, cost_used = cost_used - uc,
      tokens_reserved = tokens_reserved - rt, cost_reserved = cost_reserved - rc
    WHERE bkey = k AND window_start = -1;
  END IF;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION {p}admit(
  k text[], ws float8[], we float8[], roll float8[], mt bigint[], mc bigint[],
  rb int[], ro int[], est_t bigint[], est_c bigint[], rids text[], p_now float8, p_exp float8)
RETURNS TABLE (failed int, tu bigint[], cu bigint[], tr bigint[], cr bigint[], oldest float8)
AS $$
-- k..mc: the distinct budgets of the batch, sorted by (k, ws). Request j uses budgets
-- rb[ro[j] .. ro[j+1]-1] (indexes into k), in that order. Requests are decided in order.
DECLARE i int; j int; b int; q int; nk int := array_length(k, 1); nr int := array_length(rids, 1);
  xtu bigint[]; xcu bigint[]; xtr bigint[]; xcr bigint[]; changed boolean[]; c record;
BEGIN
  xtu := array_fill(0::bigint, ARRAY[nk]); xcu := xtu; xtr := xtu; xcr := xtu;
  changed := array_fill(false, ARRAY[nk]);
  FOR i IN 1..nk LOOP
    INSERT INTO {p}counters (bkey, window_start, window_end) VALUES (k[i], ws[i], we[i])
      ON CONFLICT DO NOTHING;
    PERFORM 1 FROM {p}counters WHERE bkey = k[i] AND window_start = ws[i] FOR UPDATE;
    IF roll[i] > 0 THEN
      PERFORM {p}age(k[i], p_now - roll[i]);
    END IF;
    SELECT tokens_used, cost_used, tokens_reserved, cost_reserved INTO c
      FROM {p}counters WHERE bkey = k[i] AND window_start = ws[i];
    xtu[i] := c.tokens_used; xcu[i] := c.cost_used;
    xtr[i] := c.tokens_reserved; xcr[i] := c.cost_reserved;
  END LOOP;
  FOR j IN 1..nr LOOP
    failed := 0; oldest := NULL; tu := '{{}}'; cu := '{{}}'; tr := '{{}}'; cr := '{{}}';
    FOR q IN ro[j]..ro[j + 1] - 1 LOOP
      b := rb[q];
      IF (mt[b] >= 0 AND xtu[b] + xtr[b] + est_t[j] > mt[b])
         OR (mc[b] >= 0 AND xcu[b] + xcr[b] + est_c[j] > mc[b]) THEN
        failed := q - ro[j] + 1;
        tu := tu || xtu[b]; cu := cu || xcu[b]; tr := tr || xtr[b]; cr := cr || xcr[b];
        IF roll[b] > 0 THEN
          SELECT min(h.ts) INTO oldest FROM {p}holds h WHERE h.bkey = k[b];
        END IF;
        EXIT;
      END IF;
    END LOOP;
    IF failed = 0 THEN
      FOR q IN ro[j]..ro[j + 1] - 1 LOOP
        b := rb[q];
        xtr[b] := xtr[b] + est_t[j]; xcr[b] := xcr[b] + est_c[j]; changed[b] := true;
        tu := tu || xtu[b]; cu := cu || xcu[b]; tr := tr || xtr[b]; cr := cr || xcr[b];
        IF roll[b] > 0 THEN
          INSERT INTO {p}holds (bkey, rid, ts, tokens, cost)
            VALUES (k[b], rids[j], p_now, est_t[j], est_c[j]);
        END IF;
      END LOOP;
      INSERT INTO {p}reservations (rid, created, expires_at, tokens, cost, bkeys, wstarts)
        SELECT rids[j], p_now, p_exp, est_t[j], est_c[j], array_agg(k[x] ORDER BY o),
               array_agg(ws[x] ORDER BY o)
        FROM unnest(rb[ro[j]:ro[j + 1] - 1]) WITH ORDINALITY AS u(x, o);
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

CREATE OR REPLACE FUNCTION {p}settle(p_rid text, a_t bigint, a_c bigint) RETURNS int AS $$
DECLARE r record; i int; was_open boolean;
BEGIN
  SELECT * INTO r FROM {p}reservations WHERE rid = p_rid FOR UPDATE;
  IF NOT FOUND OR r.state = 1 THEN RETURN 0; END IF;
  was_open := r.state = 0;
  FOR i IN 1..array_length(r.bkeys, 1) LOOP
    PERFORM 1 FROM {p}counters WHERE bkey = r.bkeys[i] AND window_start = r.wstarts[i] FOR UPDATE;
    IF r.wstarts[i] = -1 THEN
      UPDATE {p}holds SET tokens = a_t, cost = a_c, settled = true
        WHERE bkey = r.bkeys[i] AND rid = p_rid;
      CONTINUE WHEN NOT FOUND;  -- aged out of its rolling window
    END IF;
    IF was_open THEN
      UPDATE {p}counters SET tokens_reserved = tokens_reserved - r.tokens,
        cost_reserved = cost_reserved - r.cost, tokens_used = tokens_used + a_t,
        cost_used = cost_used + a_c WHERE bkey = r.bkeys[i] AND window_start = r.wstarts[i];
    ELSE
      UPDATE {p}counters SET tokens_used = tokens_used + a_t, cost_used = cost_used + a_c
        WHERE bkey = r.bkeys[i] AND window_start = r.wstarts[i];
    END IF;
  END LOOP;
  DELETE FROM {p}reservations WHERE rid = p_rid;
  RETURN 1;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION {p}expire(p_now float8, p_limit int) RETURNS int AS $$
DECLARE rids text[]; ks text[]; wss float8[]; tts bigint[]; ccs bigint[];
  i int; t bigint; c bigint;
BEGIN
  WITH ex AS (
    UPDATE {p}reservations SET state = 2 WHERE rid IN (
      SELECT rid FROM {p}reservations WHERE state = 0 AND expires_at <= p_now
      ORDER BY expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING rid, tokens, cost, bkeys, wstarts),
  u AS (SELECT ex.rid, ex.tokens, ex.cost, x.k, x.w
        FROM ex, unnest(ex.bkeys, ex.wstarts) AS x(k, w)),
  g AS (SELECT k, w, sum(tokens)::bigint AS t, sum(cost)::bigint AS c FROM u GROUP BY k, w)
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
    UPDATE {p}counters SET tokens_reserved = tokens_reserved - t,
      cost_reserved = cost_reserved - c WHERE bkey = ks[i] AND window_start = wss[i];
  END LOOP;
  RETURN array_length(rids, 1);
END $$ LANGUAGE plpgsql;
"""
