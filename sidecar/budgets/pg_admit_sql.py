"""The PL/pgSQL the two admit functions of the shared ledger share, and ``{p}admit1`` itself.

:mod:`sidecar.budgets.pg_schema` installs them: ``{p}admit`` (a batch, array arguments) and
``{p}admit1`` (one admit on one budget, scalar arguments, about a third less server time) run
the same policy-version check and the same counter lock, so they decide alike.
"""

from __future__ import annotations

from sidecar.budgets.model import COUNTER_MAX

C = COUNTER_MAX


def admit_version_check(p: str) -> str:
    """The part of ``{p}admit`` that binds a statement to the policies in force."""
    return f"""  IF p_ver IS DISTINCT FROM (SELECT version FROM {p}policy_version WHERE id = 1) THEN
    failed := -1; RETURN NEXT; RETURN;
  END IF;
"""


def lock_counter_sql(p: str, k: str, ws: str, we: str, roll: str) -> str:
    """PL/pgSQL of both admit functions: lock counter (``k``, ``ws``) and read it into ``c``
    (created first when missing), after ageing a rolling window's holds out; extend its
    window to end at ``we`` at least."""
    return f"""    -- Lock and read in one statement; a new counter is created first.
    SELECT tokens_used, cost_used, tokens_reserved, cost_reserved, window_end INTO c
      FROM {p}counters WHERE bkey = {k} AND window_start = {ws} FOR UPDATE;
    IF NOT FOUND THEN
      INSERT INTO {p}counters (bkey, window_start, window_end) VALUES ({k}, {ws}, {we})
        ON CONFLICT DO NOTHING;
      SELECT tokens_used, cost_used, tokens_reserved, cost_reserved, window_end INTO c
        FROM {p}counters WHERE bkey = {k} AND window_start = {ws} FOR UPDATE;
    END IF;
    IF {roll} > 0 THEN  -- age the rolling window's holds out, then read what is left
      PERFORM {p}age({k}, p_now - {roll});
      SELECT tokens_used, cost_used, tokens_reserved, cost_reserved, window_end INTO c
        FROM {p}counters WHERE bkey = {k} AND window_start = {ws};
    END IF;
    IF c.window_end < {we} THEN  -- a longer window starting at the same instant
      UPDATE {p}counters SET window_end = {we} WHERE bkey = {k} AND window_start = {ws};
    END IF;
"""


def admit_one_sql(p: str) -> str:
    """``{p}admit1``: what ``{p}admit`` does for a batch of one admit on one budget, with
    scalar arguments (about a third less server time than the array form): the same version
    check, lock, check, reservation and answer row."""
    return f"""
CREATE OR REPLACE FUNCTION {p}admit1(
  k text, ws float8, we float8, roll float8, mt bigint, mc bigint, est_t bigint, est_c bigint,
  rid text, p_now float8, p_exp float8, p_ver bigint, tenant text, user_id text, model text)
RETURNS TABLE (failed int, tu bigint[], cu bigint[], tr bigint[], cr bigint[])
AS $$
DECLARE c record; nt bigint; nc bigint;
BEGIN
{admit_version_check(p)}{lock_counter_sql(p, "k", "ws", "we", "roll")}
  tu := ARRAY[c.tokens_used]; cu := ARRAY[c.cost_used];
  IF (mt >= 0 AND c.tokens_used + c.tokens_reserved + est_t > mt)
     OR (mc >= 0 AND c.cost_used + c.cost_reserved + est_c > mc) THEN
    failed := 1; tr := ARRAY[c.tokens_reserved]; cr := ARRAY[c.cost_reserved];
    RETURN NEXT; RETURN;
  END IF;
  nt := least(c.tokens_reserved + est_t, {C}); nc := least(c.cost_reserved + est_c, {C});
  UPDATE {p}counters SET tokens_reserved = nt, cost_reserved = nc
    WHERE bkey = k AND window_start = ws;
  IF roll > 0 THEN
    INSERT INTO {p}holds (bkey, rid, ts, tokens, cost) VALUES (k, rid, p_now, est_t, est_c);
  END IF;
  INSERT INTO {p}reservations (rid, created, expires_at, tokens, cost, bkeys, wstarts, tenant,
                               user_id, model)
    VALUES (rid, p_now, p_exp, est_t, est_c, ARRAY[k], ARRAY[ws], tenant, user_id, model);
  failed := 0; tr := ARRAY[nt]; cr := ARRAY[nc];
  RETURN NEXT;
END $$ LANGUAGE plpgsql;
"""
