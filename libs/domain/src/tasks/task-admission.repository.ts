import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PreparedStatement } from '../database/prepared-statement';
import { TaskType } from './task-state';

/** Default priorities by origin (1 first, 9 last): a person's request beats bulk work beats a sweep. */
export const TASK_PRIORITY = { request: 3, bulk: 5, follow_up: 5, tick: 7 } as const;

/** One admission lock for the whole system: rounds are serialized, so limits are never over-admitted. */
const ADMISSION_LOCK = 0x6b61_7401;
/**
 * A round's transaction whose process froze while holding the lock (SIGSTOP, a long GC pause)
 * would stop every worker's admission: the server ends it after this long silent. A round's own
 * gap between its statements is a millisecond or two.
 */
const ADMISSION_IDLE_TIMEOUT_MS = 2000;

/** A task the admission handed to the queue, in the order it should be delivered. */
export interface AdmittedTask {
  id: string;
  type: TaskType;
  attempts: number;
}

export interface AdmissionSettings {
  /** A worker that has not refreshed its slots for this long no longer counts. */
  liveSeconds: number;
  /** Admitted-or-running tasks kept per slot: 2 keeps a job waiting in Redis for each busy slot. */
  tasksPerSlot: number;
  /** The window of a rate limit's `per_minute` (60; tests shorten it). */
  rateWindowSeconds: number;
}

/**
 * The waiting line of plugin tasks, in PostgreSQL. A plugin task is created PENDING and not
 * admitted; one statement at a time (under a transaction-scoped advisory lock) admits the next
 * ones while the live workers have room, and the caller hands them to the queue in the order
 * returned. Claims take only admitted tasks, so nothing reaches a worker around this line.
 */
@Injectable()
export class TaskAdmissionRepository {
  constructor(private readonly db: DataSource) {}

  /** A worker's slots for plugin tasks, refreshed while it lives; 0 or forgotten when it stops. */
  async registerWorker(workerId: string, slots: number): Promise<void> {
    await this.db.query(
      `INSERT INTO dispatch_worker (worker_id, slots, seen_at) VALUES ($1, $2, now())
       ON CONFLICT (worker_id) DO UPDATE SET slots = excluded.slots, seen_at = now()`,
      [workerId, slots],
    );
  }

  async forgetWorker(workerId: string): Promise<void> {
    await this.db.query(`DELETE FROM dispatch_worker WHERE worker_id = $1`, [workerId]);
  }

  /**
   * Admits the next waiting plugin tasks, as many as the live workers have room for:
   * `tasksPerSlot × Σ slots − (RUNNING + admitted)`. Order: priority; then organizations take
   * turns (an organization's n-th oldest task ranks with the others' n-th, and among equal turns
   * the organization served longest ago goes first); then age. A task waits while its `run_after`
   * is ahead or its rate key has no room; others pass it. Returns [] when another process holds
   * the round. One transaction, two statements: the lock, then the admission on a fresh snapshot
   * (a snapshot taken before the lock could miss the previous round's admissions).
   */
  async admitNext(settings: AdmissionSettings): Promise<AdmittedTask[]> {
    return this.db.transaction(async (tx) => {
      // With the lock, this transaction's settings (set_config(…, true) is SET LOCAL). No wait for
      // the WAL flush: an admission lost in a crash only puts its tasks back in line (their jobs
      // find them not admitted and are skipped; the next round admits them again). The planner
      // cannot know the room (a subquery), so it plans for thousands of rows: it would JIT-compile
      // the statement (40 ms a round, measured) and hash the whole task table to update a hundred
      // rows. Nested loops over primary-key probes are right for what a round admits.
      const [{ locked }] = await tx.query(
        `SELECT pg_try_advisory_xact_lock($1) AS locked, set_config('synchronous_commit', 'off', true),
           set_config('jit', 'off', true), set_config('enable_hashjoin', 'off', true),
           set_config('enable_mergejoin', 'off', true), set_config('idle_in_transaction_session_timeout', $2, true)`,
        [ADMISSION_LOCK, String(ADMISSION_IDLE_TIMEOUT_MS)],
      );
      if (!locked) return [];
      const rows = await ADMISSION.rows<
        AdmittedTask & { priority: number; turn: string; served_at: Date | null; created_at: Date }
      >(tx, [settings.liveSeconds, settings.tasksPerSlot, settings.rateWindowSeconds]);
      return rows
        .sort(
          (a, b) =>
            a.priority - b.priority ||
            Number(a.turn) - Number(b.turn) ||
            (a.served_at?.getTime() ?? 0) - (b.served_at?.getTime() ?? 0) ||
            a.created_at.getTime() - b.created_at.getTime(),
        )
        .map(({ id, type, attempts }) => ({ id, type, attempts }));
    });
  }

  /** Starts older than the rate window are no longer counted: removes them. */
  async pruneStarts(rateWindowSeconds: number): Promise<number> {
    const [, removed] = await this.db.query(
      `DELETE FROM rate_key_start WHERE started_at < now() - make_interval(secs => $1)`,
      [rateWindowSeconds],
    );
    return removed;
  }

  /** Plugin tasks waiting for admission, by priority (an index-only count over task_waiting). */
  async waitingByPriority(): Promise<Array<{ priority: number; n: number }>> {
    return this.db.query(
      `SELECT priority, count(*)::int AS n FROM task
       WHERE status = 'PENDING' AND admitted_at IS NULL AND type = 'plugin' GROUP BY priority`,
    );
  }
}

/*
 * The admission, one statement. Lanes are the distinct (priority, organization, plugin) of the
 * waiting line, found by a skip scan of task_waiting (one index probe per lane, not one per task).
 * A lane whose plugin has a literal key without room is skipped whole. Each other lane offers its
 * oldest tasks that may start now: `offer` = ⌈room / organizations at its priority⌉ + 1, so a
 * round reads about room × plugins rows, not room × lanes (450 ms a round with 1,000 lanes before).
 * An organization's t-th oldest task is among the first t of its plugin's lane, so turns up to the
 * offer are exact; later turns, and lower priorities than one whose lane was cut, wait for the
 * next round. Candidates are ranked, capped per key by its room, the first `room` admitted, and
 * their organizations marked served now.
 * $1 live seconds, $2 tasks per slot, $3 rate window seconds.
 */
const WAITING = `t.status = 'PENDING' AND t.admitted_at IS NULL AND t.type = 'plugin'`;
const ADMISSION = new PreparedStatement(
  'kat_admit_tasks',
  `
WITH RECURSIVE
room AS (
  SELECT greatest(0,
    $2 * (SELECT coalesce(sum(slots), 0) FROM dispatch_worker WHERE seen_at > now() - make_interval(secs => $1))
    - (SELECT count(*) FROM task WHERE status = 'PENDING' AND admitted_at IS NOT NULL)
    - (SELECT count(*) FROM task WHERE status = 'RUNNING'))::int AS n),
lanes AS (
  (SELECT t.priority, t.organization_id, t.plugin_id FROM task t
   WHERE ${WAITING} AND (SELECT n FROM room) > 0
   ORDER BY t.priority, t.organization_id, t.plugin_id LIMIT 1)
  UNION ALL
  SELECT next.* FROM lanes l CROSS JOIN LATERAL (
    SELECT t.priority, t.organization_id, t.plugin_id FROM task t
    WHERE ${WAITING}
      AND (t.priority, t.organization_id, t.plugin_id) > (l.priority, l.organization_id, l.plugin_id)
    ORDER BY t.priority, t.organization_id, t.plugin_id LIMIT 1) next),
organizations AS (SELECT priority, count(DISTINCT organization_id) AS n FROM lanes GROUP BY priority),
lane AS (
  SELECT l.*, p.rate_limit->>'key' AS key_template,
    (p.rate_limit->>'concurrency')::int AS concurrency, (p.rate_limit->>'per_minute')::int AS per_window,
    ceil((SELECT n FROM room)::numeric / o.n)::int + 1 AS offer
  FROM lanes l JOIN plugin p ON p.plugin_id = l.plugin_id JOIN organizations o ON o.priority = l.priority),
candidates AS (
  SELECT c.*, lane.concurrency, lane.per_window, lane.offer,
    count(*) OVER (PARTITION BY lane.priority, lane.organization_id, lane.plugin_id) = lane.offer AS cut
  FROM lane CROSS JOIN LATERAL (
    SELECT t.id, t.type, t.attempts, t.priority, t.organization_id, t.created_at, t.rate_key FROM task t
    WHERE ${WAITING}
      AND t.priority = lane.priority AND t.organization_id = lane.organization_id AND t.plugin_id = lane.plugin_id
      AND (t.run_after IS NULL OR t.run_after <= now())
      AND (t.rate_key IS NULL OR kat_rate_room(t.rate_key, lane.concurrency, lane.per_window, $3) > 0)
    ORDER BY t.created_at, t.id LIMIT lane.offer) c
  WHERE lane.key_template IS NULL OR strpos(lane.key_template, '{') > 0
     OR kat_rate_room(lane.key_template, lane.concurrency, lane.per_window, $3) > 0),
ranked AS (
  SELECT c.*, turn.served_at,
    row_number() OVER (PARTITION BY c.priority, c.organization_id ORDER BY c.created_at, c.id) AS turn
  FROM candidates c LEFT JOIN dispatch_turn turn ON turn.organization_id = c.organization_id),
keyed AS (
  SELECT r.*, row_number() OVER (PARTITION BY r.rate_key
                                 ORDER BY r.priority, r.turn, r.served_at NULLS FIRST, r.created_at, r.id) AS nth_of_key
  FROM ranked r),
chosen AS (
  SELECT k.* FROM keyed k
  WHERE k.turn <= k.offer AND k.priority <= coalesce((SELECT min(priority) FROM candidates WHERE cut), 9)
    AND (k.rate_key IS NULL OR k.nth_of_key <= kat_rate_room(k.rate_key, k.concurrency, k.per_window, $3))
  ORDER BY k.priority, k.turn, k.served_at NULLS FIRST, k.created_at, k.id
  LIMIT (SELECT n FROM room)),
served AS (
  INSERT INTO dispatch_turn (organization_id, served_at) SELECT DISTINCT organization_id, now() FROM chosen
  ON CONFLICT (organization_id) DO UPDATE SET served_at = now())
UPDATE task t SET admitted_at = now() FROM chosen
WHERE t.id = chosen.id AND t.status = 'PENDING' AND t.admitted_at IS NULL
RETURNING t.id, t.type, t.attempts, chosen.priority, chosen.turn, chosen.served_at, chosen.created_at`,
);
