// Upserts N hostnames through POST /api/v1/objects/hostname/ in batches of 1,000 and prints
// objects/second; then posts them all again (every one an update) and prints that rate too.
//   npm run bench -- objects-ingest [N=100000] [parallel requests=4]
const { createEnvironment, waitFor, progress, saveResult, machine, run } = require('./harness');

const N = Number(process.argv[2] ?? 100_000);
const PARALLEL = Number(process.argv[3] ?? 4);
const BATCH = 1000;
const PORT = 3918;

async function main() {
  const bench = await createEnvironment('kat_bench_objects', { PORT: String(PORT) });
  bench.start('api');
  try {
    const token = bench.kat(['create-token', '--org', 'bench']);
    await waitFor('the API', async () => (await fetch(`http://127.0.0.1:${PORT}/health/ready`)).ok);
    const batches = Array.from({ length: Math.ceil(N / BATCH) }, (_, b) =>
      JSON.stringify(Array.from({ length: Math.min(BATCH, N - b * BATCH) }, (_, i) => ({ network: 'internet', name: `h${b * BATCH + i}.bench.example` }))));

    const pass = async (label) => {
      let next = 0;
      let done = 0;
      const started = process.hrtime.bigint();
      const post = async () => {
        while (next < batches.length) {
          const body = batches[next++];
          const response = await fetch(`http://127.0.0.1:${PORT}/api/v1/objects/hostname/`, {
            method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body,
          });
          if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
          await response.arrayBuffer();
          done += BATCH;
          progress(`objects-ingest ${label}: ${Math.min(done, N)}/${N}`);
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, post));
      process.stderr.write('\n');
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      return { seconds: Math.round(seconds * 100) / 100, objects_per_second: Math.round(N / seconds) };
    };
    const insert = await pass('insert');
    const update = await pass('update');
    const [{ count }] = await bench.query(`SELECT count(*)::int AS count FROM object WHERE object_type = 'hostname'`);
    const result = { benchmark: 'objects-ingest', objects: N, batch: BATCH, parallel_requests: PARALLEL, stored: count, insert, update, machine: machine(), at: new Date().toISOString() };
    console.log(`objects-ingest: ${N} hostnames in batches of ${BATCH}, ${PARALLEL} requests at a time: ` +
      `insert ${insert.objects_per_second} objects/s (${insert.seconds} s), update ${update.objects_per_second} objects/s (${update.seconds} s); ${count} rows`);
    console.log(`saved ${saveResult('objects-ingest', result)}`);
  } finally {
    await bench.drop();
  }
}

run(main);
