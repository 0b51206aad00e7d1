import { DataSource } from 'typeorm';
import { TaskRepository, dataSourceOptions } from '@kat/domain';
import { TestEnvironment } from './support/environment';

/** mulberry32: a small seeded generator, so a failing history can be replayed by its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface TaskRow {
  input_data: string;
  plugin_id: string;
  status: string;
  created: number; // seconds before now
  ended: number | null;
}

/**
 * A steady tick reads only what changed since the schedule's last tick; a full sweep reads every
 * member. They must create the same tasks. Each history is random: objects, some changed, created
 * or deleted after the last tick; scans of every status before and after it, some ending after it;
 * a set by filter, by list, both, or every object; then a tick an arbitrary time later. The one
 * thing a history must respect is what the last tick did: every member then due got a task.
 */
describe('steady ticks (only what changed since the last tick) create what a full sweep creates', () => {
  let environment: TestEnvironment;
  let db: DataSource;
  let tasks: TaskRepository;

  beforeAll(async () => {
    environment = await TestEnvironment.create();
    // Room for a full sweep in three parts (a pool keeps two connections beside them).
    db = await new DataSource(dataSourceOptions(environment.databaseUrl, 5)).initialize();
    tasks = new TaskRepository(db);
    await db.query(
      `INSERT INTO plugin (plugin_id, name, image, command, consumes)
       VALUES ('scan', 'scan', 'kat-busybox:latest', '["true"]', '{hostname}'),
              ('other', 'other', 'kat-busybox:latest', '["true"]', '{hostname}')`,
    );
  });

  afterAll(async () => {
    await db?.destroy();
    await environment?.destroy();
  });

  /** Builds history `seed` in an organization of its own; returns its schedule's id. */
  async function history(seed: number): Promise<string> {
    const next = random(seed);
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)];
    const interval = pick([600, 3600, 86400]);
    const sinceLastTick = Math.floor(next() * 3 * interval); // seconds from the last tick to now
    const [{ id: organization }] = await db.query(
      `INSERT INTO organization (code, name) VALUES ($1, $2) RETURNING id`,
      [`history${seed}`, `history${seed}`],
    );
    const keys = Array.from({ length: 30 }, (_, i) => `internet|h${i}.example`);
    const listed = keys.filter(() => next() < 0.2);
    const query = pick(['', 'network = "internet"', null, 'network = "internet"']);
    const member = (data: { network: string }, key: string) =>
      query === '' || (query !== null && data.network === 'internet') || listed.includes(key);

    // Objects as they are now, and since when (changed: seconds before now, after the last tick or not).
    const objects = keys
      .filter(() => next() < 0.85) // the others were deleted (or never seen)
      .map((key) => ({
        key,
        data: { network: pick(['internet', 'internet', 'lab']), name: key.split('|')[1] },
        changed: next() < 0.25 ? Math.floor(next() * sinceLastTick) : sinceLastTick + Math.floor(next() * interval),
      }));

    // Scans before the last tick, of every status; some were still active at the tick and ended after it.
    const rows: TaskRow[] = [];
    const activeNow = new Set<string>();
    const scan = (input: string, created: number, plugin = 'scan') => {
      const stillActive = !activeNow.has(input) && next() < 0.15;
      const endsAfter = created - Math.floor(next() * created);
      const ended = stillActive ? null : Math.max(0, Math.min(created, endsAfter));
      if (stillActive && plugin === 'scan') activeNow.add(input);
      rows.push({
        input_data: input,
        plugin_id: plugin,
        status: stillActive ? pick(['PENDING', 'RUNNING']) : pick(['COMPLETED', 'COMPLETED', 'FAILED', 'CANCELLED']),
        created,
        ended,
      });
    };
    for (const key of keys) {
      const before = Math.floor(next() * 3);
      for (let i = 0; i < before; i++) {
        // Now and then on the edge: scanned a second less than an interval before the last tick.
        scan(key, sinceLastTick + (next() < 0.1 ? interval - 1 : Math.floor(next() * 2 * interval)));
      }
      if (next() < 0.2) scan(key, Math.floor(next() * 3 * interval), 'other'); // not a scan of this plugin
    }
    // The last tick: every member then due (unchanged since, so a member then as now) got a task.
    for (const object of objects.filter((o) => o.changed >= sinceLastTick && member(o.data, o.key))) {
      const mine = rows.filter((r) => r.plugin_id === 'scan' && r.input_data === object.key);
      const recent = mine.some((r) => r.created < sinceLastTick + interval);
      const activeThen = mine.some((r) => r.ended === null || r.ended < sinceLastTick);
      if (!recent && !activeThen) scan(object.key, sinceLastTick);
    }
    // Scans since the last tick: from the API, a chained task, a "run now".
    for (const key of keys) if (next() < 0.15 && !activeNow.has(key)) scan(key, Math.floor(next() * sinceLastTick));

    await db.query(
      `INSERT INTO object (organization_id, object_type, primary_key, data, changed_at)
       SELECT $1, 'hostname', x.key, x.data, now() - make_interval(secs => x.changed)
       FROM jsonb_to_recordset($2::jsonb) AS x(key text, data jsonb, changed int)`,
      [organization, JSON.stringify(objects)],
    );
    await db.query(
      `INSERT INTO task (organization_id, type, status, data, created_at, ended_at)
       SELECT $1, 'plugin', x.status, jsonb_build_object('plugin_id', x.plugin_id, 'input_data', x.input_data),
              now() - make_interval(secs => x.created), now() - make_interval(secs => x.ended)
       FROM jsonb_to_recordset($2::jsonb) AS x(input_data text, plugin_id text, status text, created int, ended int)`,
      [organization, JSON.stringify(rows)],
    );
    const [{ id: set }] = await db.query(
      `INSERT INTO object_set (organization_id, name, object_type, query, object_ids)
       VALUES ($1, 'set', 'hostname', $2, $3) RETURNING id`,
      [organization, query, listed],
    );
    const [{ id }] = await db.query(
      `INSERT INTO schedule (organization_id, plugin_id, object_set_id, interval_seconds, swept_at, full_swept_at)
       VALUES ($1, 'scan', $2, $3, now() - make_interval(secs => $4), now()) RETURNING id`,
      [organization, set, interval, sinceLastTick],
    );
    return id;
  }

  /** The inputs a tick of the schedule creates tasks for, and whether it swept fully; then undone. */
  async function tick(
    schedule: string,
    sweep: 'full' | 'auto',
    sweepParts = 1,
  ): Promise<{ inputs: string[]; full: boolean }> {
    const [before] = await db.query(`SELECT swept_at, full_swept_at FROM schedule WHERE id = $1`, [schedule]);
    const created = await tasks.createScheduledTasks(schedule, { sweep, sweepParts });
    const ids = created.map((t) => t.id);
    const inputs = await db.query(`SELECT input_object FROM task WHERE id = ANY($1) ORDER BY input_object`, [ids]);
    const [after] = await db.query(`SELECT full_swept_at FROM schedule WHERE id = $1`, [schedule]);
    await db.query(`DELETE FROM task WHERE id = ANY($1)`, [ids]);
    await db.query(`UPDATE schedule SET swept_at = $2, full_swept_at = $3 WHERE id = $1`, [
      schedule,
      before.swept_at,
      before.full_swept_at,
    ]);
    return {
      inputs: inputs.map((r: { input_object: string }) => r.input_object),
      full: after.full_swept_at.getTime() !== before.full_swept_at.getTime(),
    };
  }

  /** An organization of its own with `count` hostnames, all in a set, and a schedule over it never swept. */
  async function neverSwept(
    code: string,
    letter: string,
    count: number,
  ): Promise<{ schedule: string; keys: string[] }> {
    const [{ id: organization }] = await db.query(
      `INSERT INTO organization (code, name) VALUES ($1::text, $1::text) RETURNING id`,
      [code],
    );
    const keys = Array.from({ length: count }, (_, i) => `internet|${letter}${i}.example`);
    await db.query(
      `INSERT INTO object (organization_id, object_type, primary_key, data)
       SELECT $1, 'hostname', k, jsonb_build_object('network', 'internet', 'name', split_part(k, '|', 2))
       FROM unnest($2::text[]) k`,
      [organization, keys],
    );
    const [{ id: set }] = await db.query(
      `INSERT INTO object_set (organization_id, name, object_type, query)
       VALUES ($1, 'all', 'hostname', '') RETURNING id`,
      [organization],
    );
    const [{ id: schedule }] = await db.query(
      `INSERT INTO schedule (organization_id, plugin_id, object_set_id, interval_seconds)
       VALUES ($1, 'scan', $2, 3600) RETURNING id`,
      [organization, set],
    );
    return { schedule, keys };
  }

  it('on 60 random histories', async () => {
    let due = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const schedule = await history(seed);
      const steady = await tick(schedule, 'auto');
      const full = await tick(schedule, 'full');
      const inParts = await tick(schedule, 'full', 3);
      expect({ seed, swept: steady.full, inputs: steady.inputs }).toEqual({ seed, swept: false, inputs: full.inputs });
      expect(full.full).toBe(true);
      // A full sweep in parts, each inserted by its own connection, creates the same tasks as one.
      expect({ seed, inputs: inParts.inputs }).toEqual({ seed, inputs: full.inputs });
      due += full.inputs.length;
    }
    // The histories are not trivial: across them, many objects were due, and many were not.
    expect(due).toBeGreaterThan(200);
    expect(due).toBeLessThan(60 * 25);
  });

  it('sweeps fully after a change to what a schedule scans, and at least every hour', async () => {
    const schedule = await history(1000);
    const [{ object_set_id }] = await db.query(`SELECT object_set_id FROM schedule WHERE id = $1`, [schedule]);
    const swept = async () => (await db.query(`SELECT swept_at FROM schedule WHERE id = $1`, [schedule]))[0].swept_at;

    await db.query(`UPDATE object_set SET query = 'network = "lab"' WHERE id = $1`, [object_set_id]);
    expect(await swept()).toBeNull();
    expect((await tick(schedule, 'auto')).full).toBe(true);

    await db.query(`UPDATE schedule SET swept_at = now(), interval_seconds = 60 WHERE id = $1`, [schedule]);
    expect(await swept()).toBeNull();
    await db.query(`UPDATE schedule SET swept_at = now() WHERE id = $1`, [schedule]);
    await db.query(`UPDATE plugin SET consumes = '{hostname,ipaddress}' WHERE plugin_id = 'scan'`);
    expect(await swept()).toBeNull();

    // Seen again, unchanged: not a change. Its data changed: a change.
    await db.query(`UPDATE schedule SET swept_at = now() WHERE id = $1`, [schedule]);
    const [{ organization_id }] = await db.query(`SELECT organization_id FROM schedule WHERE id = $1`, [schedule]);
    const [[object]] = await db.query(
      `UPDATE object SET changed_at = '2000-01-01' WHERE organization_id = $1 RETURNING primary_key`,
      [organization_id],
    );
    const write = (set: string) =>
      db.query(`UPDATE object SET ${set} WHERE organization_id = $1 AND primary_key = $2`, [
        organization_id,
        object.primary_key,
      ]);
    const changedAt = async () =>
      (
        await db.query(`SELECT changed_at FROM object WHERE organization_id = $1 AND primary_key = $2`, [
          organization_id,
          object.primary_key,
        ])
      )[0].changed_at;
    await write(`last_seen = now(), data = data`);
    expect(await changedAt()).toEqual(new Date('2000-01-01'));
    await write(`last_seen = now(), data = data || '{"network": "other"}'`);
    expect(Date.now() - (await changedAt()).getTime()).toBeLessThan(60_000);

    await db.query(`UPDATE schedule SET full_swept_at = now() - interval '61 minutes' WHERE id = $1`, [schedule]);
    expect((await tick(schedule, 'auto')).full).toBe(true);
  });
  it('a sweep in parts, one of which fails, leaves the schedule due for a full sweep that adds the rest', async () => {
    const { schedule, keys } = await neverSwept('parts', 'p', 40);
    // One object's task cannot be inserted: the part it hashes to fails, the others commit.
    await db.query(`CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.data ->> 'input_data' = 'internet|p7.example' THEN RAISE EXCEPTION 'poisoned'; END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER poison BEFORE INSERT ON task FOR EACH ROW EXECUTE FUNCTION poison()`);
    const inputs = async () =>
      (await db.query(`SELECT input_object FROM task WHERE schedule_id = $1 ORDER BY input_object`, [schedule])).map(
        (r: { input_object: string }) => r.input_object,
      );
    try {
      await expect(tasks.createScheduledTasks(schedule, { sweepParts: 3 })).rejects.toThrow('poisoned');
    } finally {
      await db.query(`DROP TRIGGER poison ON task; DROP FUNCTION poison()`);
    }
    const [after] = await db.query(`SELECT swept_at, full_swept_at FROM schedule WHERE id = $1`, [schedule]);
    expect(after).toEqual({ swept_at: null, full_swept_at: null }); // the schedule's own transaction rolled back
    const survivors = await inputs();
    expect(survivors.length).toBeGreaterThan(0); // the other parts' tasks committed...
    expect(survivors.length).toBeLessThan(keys.length); // ...and the poisoned part's did not

    const created = await tasks.createScheduledTasks(schedule, { sweepParts: 3 });
    expect(created.length).toBe(keys.length - survivors.length);
    expect(await inputs()).toEqual([...keys].sort()); // every member once
  });
  it('a sweep in parts is not recorded when what the schedule scans changed while it ran', async () => {
    // Never swept: swept_at is null before the change as after it, so only the count can tell.
    const { schedule, keys } = await neverSwept('changed', 'c', 20);
    // While a part runs, the set's filter changes (its trigger clears swept_at and counts a resweep).
    await db.query(`CREATE FUNCTION clear_sweep() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.data ->> 'input_data' = 'internet|c3.example' THEN
          UPDATE object_set SET query = 'network = "internet"'
          WHERE id = (SELECT object_set_id FROM schedule WHERE id = NEW.schedule_id);
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER clear_sweep BEFORE INSERT ON task FOR EACH ROW EXECUTE FUNCTION clear_sweep()`);
    try {
      expect(await tasks.createScheduledTasks(schedule, { sweepParts: 3 })).toHaveLength(keys.length);
    } finally {
      await db.query(`DROP TRIGGER clear_sweep ON task; DROP FUNCTION clear_sweep()`);
    }
    const [after] = await db.query(`SELECT swept_at FROM schedule WHERE id = $1`, [schedule]);
    expect(after.swept_at).toBeNull(); // the next tick sweeps fully again

    // Without the change, the sweep is recorded: the next tick is a steady one and creates nothing.
    await db.query(`DELETE FROM task WHERE schedule_id = $1`, [schedule]);
    expect(await tasks.createScheduledTasks(schedule, { sweepParts: 3 })).toHaveLength(keys.length);
    const [recorded] = await db.query(`SELECT swept_at, full_swept_at FROM schedule WHERE id = $1`, [schedule]);
    expect(recorded.swept_at).not.toBeNull();
    expect(recorded.full_swept_at).toEqual(recorded.swept_at);
    expect(Date.now() - recorded.swept_at.getTime()).toBeLessThan(60_000);
  });
});
