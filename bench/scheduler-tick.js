// The scheduler's create-scheduled-tasks tick over one object set of 10,000, 100,000 and 1,000,000
// hostnames: the first tick (every object due: one INSERT … SELECT; the tasks then wait for the
// workers' admission, not queued by the tick) and a steady tick (nothing due), run through `kat run-job` exactly as a replica runs
// it; then the seed's loop (a query and an insert per object, each its own commit) at 10,000.
//   npm run bench -- scheduler-tick [sizes=10000,100000,1000000] [seed loop size=10000] [--fresh]
// SCHEDULER_SWEEP_PARTS in the environment is passed on (a full sweep's parts; the app's default otherwise).
const { Client } = require('pg');
const { createEnvironment, progress, saveResult, machine, run } = require('./harness');

const FRESH = process.argv.includes('--fresh');
const [sizes, loopSize] = process.argv.slice(2).filter((arg) => arg !== '--fresh');
const SIZES = (sizes ?? '10000,100000,1000000').split(',').map(Number);
const LOOP_SIZE = Number(loopSize ?? 10000);
const FOUND = FRESH ? 'now()' : "now() - interval '1 hour'";
const NAME = 'kat_bench_tick';
const SETTINGS = process.env.SCHEDULER_SWEEP_PARTS ? { SCHEDULER_SWEEP_PARTS: process.env.SCHEDULER_SWEEP_PARTS } : {};

/**
 * One organization, one schedule over every hostname of `size`. The objects were found an hour
 * ago, as a set being scanned has been there a while: a steady tick within a minute of a bulk
 * import reads every object it changed (`--fresh`: the objects were just imported).
 */
async function fill(bench, size) {
  await bench.query(`INSERT INTO organization (code, name) VALUES ('bench', 'bench')`);
  await bench.query(`INSERT INTO plugin (plugin_id, name, image, command, consumes) VALUES ('noop', 'noop', 'kat-busybox:latest', '["true"]', '{hostname}')`);
  await bench.query(`
    INSERT INTO object (organization_id, object_type, primary_key, data, first_seen, last_seen, changed_at)
    SELECT o.id, 'hostname', 'internet|h' || i || '.bench.example', jsonb_build_object('network', 'internet', 'name', 'h' || i || '.bench.example'),
           ${FOUND}, ${FOUND}, ${FOUND}
    FROM organization o, generate_series(1, $1) i`, [size]);
  const [set] = await bench.query(`INSERT INTO object_set (organization_id, name, object_type, query) SELECT id, 'all', 'hostname', '' FROM organization RETURNING id`);
  await bench.query(`INSERT INTO schedule (organization_id, plugin_id, object_set_id, interval_seconds) SELECT id, 'noop', $1, 86400 FROM organization`, [set.id]);
  await bench.query('ANALYZE');
}


function tick(bench) {
  return JSON.parse(bench.kat(['run-job', 'create-scheduled-tasks']));
}

/** The seed's shape: per object, "scanned recently?" then an insert, each statement its own commit. */
async function seedLoop(bench) {
  const client = new Client({ connectionString: bench.env.DATABASE_URL });
  await client.connect();
  const started = process.hrtime.bigint();
  const { rows: objects } = await client.query(`SELECT organization_id, primary_key FROM object WHERE object_type = 'hostname'`);
  let created = 0;
  for (const object of objects) {
    const recent = await client.query(
      `SELECT 1 FROM task WHERE organization_id = $1 AND plugin_id = 'noop' AND input_object = $2 AND created_at > now() - interval '1 day' LIMIT 1`,
      [object.organization_id, object.primary_key]);
    if (recent.rowCount === 0) {
      await client.query(`INSERT INTO task (organization_id, type, data) VALUES ($1, 'plugin', jsonb_build_object('plugin_id', 'noop', 'input_data', $2::text))`,
        [object.organization_id, object.primary_key]);
      created++;
    }
  }
  await client.end();
  return { created, ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6) };
}

async function main() {
  const rows = [];
  for (const size of SIZES) {
    progress(`scheduler-tick: filling ${size} objects`);
    const bench = await createEnvironment(NAME, SETTINGS);
    try {
      await fill(bench, size);
      progress(`scheduler-tick: first tick over ${size} objects`);
      const first = tick(bench);
      progress(`scheduler-tick: steady tick over ${size} objects`);
      const steady = tick(bench);
      // Again: the first steady tick also sets the hint bits of the rows just inserted (writes),
      // which a tick an interval later, after autovacuum, does not.
      const again = tick(bench);
      const row = {
        objects: size,
        first_tick: { tasks_created: first.result.tasks_created, insert_ms: first.result.insert_ms },
        steady_tick: { tasks_created: steady.result.tasks_created, insert_ms: steady.result.insert_ms, again_ms: again.result.insert_ms },
      };
      rows.push(row);
      process.stderr.write('\n');
      console.log(`scheduler-tick ${size} objects: first tick inserts ${row.first_tick.tasks_created} tasks in ${row.first_tick.insert_ms} ms; ` +
        `steady tick ${row.steady_tick.insert_ms} ms (${row.steady_tick.tasks_created} created), again ${row.steady_tick.again_ms} ms`);
    } finally {
      await bench.drop();
    }
  }
  const bench = await createEnvironment(NAME);
  let loop;
  try {
    await fill(bench, LOOP_SIZE);
    progress(`scheduler-tick: the seed's loop over ${LOOP_SIZE} objects`);
    const first = await seedLoop(bench);
    const steady = await seedLoop(bench);
    process.stderr.write('\n');
    loop = { objects: LOOP_SIZE, first_tick_ms: first.ms, first_created: first.created, steady_tick_ms: steady.ms, steady_created: steady.created };
    console.log(`seed's loop ${LOOP_SIZE} objects: first tick ${first.ms} ms (${first.created} created, not queued), steady tick ${steady.ms} ms`);
  } finally {
    await bench.drop();
  }
  console.log(`saved ${saveResult('scheduler-tick', { benchmark: 'scheduler-tick', fresh: FRESH, settings: SETTINGS, set_based: rows, seed_loop: loop, machine: machine(), at: new Date().toISOString() })}`);
}

run(main);
