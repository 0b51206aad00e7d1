// Shared by the benchmarks: a private database and queue prefix, the built apps as processes.
const { execFileSync, spawn } = require('node:child_process');
const { mkdirSync, readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const Redis = require('ioredis');
const { Client } = require('pg');

const ROOT = join(__dirname, '..');
const SERVER_URL = process.env.BENCH_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432';

function engineSocket() {
  return execFileSync('bash', [join(ROOT, 'scripts/container-engine.sh')], { encoding: 'utf8' }).trim();
}

/** A fresh database and queue prefix named `name`, migrated, with settings for the apps. */
async function createEnvironment(name, overrides = {}) {
  const admin = new Client({ connectionString: `${SERVER_URL}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const env = {
    PATH: process.env.PATH,
    DATABASE_URL: `${SERVER_URL}/${name}`,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: name,
    DOCKER_SOCKET: process.env.DOCKER_SOCKET ?? engineSocket(),
    PLUGIN_NETWORK: 'none',
    LOG_LEVEL: 'warn',
    ...overrides,
  };
  kat(env, ['migrate']);
  const started = [];
  let connection = null;
  return {
    env,
    kat: (args) => kat(env, args),
    start: (app, extra = {}) => {
      const child = startApp(app, { ...env, ...extra });
      started.push(child);
      return child;
    },
    // One connection for all the bench's own queries: a connection per poll (five a second) cost
    // PostgreSQL a backend's start each time, CPU the measured system then lacked.
    query: async (sql, params) => {
      connection ??= (async () => {
        const client = new Client({ connectionString: env.DATABASE_URL });
        await client.connect();
        return client;
      })();
      return (await (await connection).query(sql, params)).rows;
    },
    /** Stops the apps it started (SIGTERM, as an orchestrator would), then drops everything. */
    drop: async () => {
      for (const app of started) app.kill('SIGTERM');
      await Promise.all(started.map((app) => new Promise((r) => (app.exitCode !== null ? r() : app.once('exit', r)))));
      if (connection) await (await connection).end();
      connection = null;
      const client = new Client({ connectionString: `${SERVER_URL}/postgres` });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      const redis = new Redis(env.REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${name}:*`, 'COUNT', 10000);
        if (keys.length) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

function kat(env, args) {
  return execFileSync(process.execPath, [join(ROOT, 'dist/apps/cli/main.js'), ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** BENCH_NODE_ARGS: Node's own options for the apps, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' (where their time goes). */
function startApp(app, env) {
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, `dist/apps/${app}/main.js`)], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  return child;
}

async function waitFor(what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Resident set size of a process, in MB. */
function rssMb(pid) {
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024);
}

/** Samples the resident size of each app (name → child process) every 100 ms; the returned stop() gives each one's peak in MB. */
function sampleMemory(apps) {
  const peaks = {};
  const sample = () => {
    for (const [name, child] of Object.entries(apps)) peaks[name] = Math.max(peaks[name] ?? 0, rssMb(child.pid));
  };
  sample();
  const timer = setInterval(sample, 100);
  return () => {
    clearInterval(timer);
    sample();
    return peaks;
  };
}

/**
 * The machine's CPU time from /proc/stat while a measurement runs: the share busy and the share the
 * hypervisor gave to others (steal). On a shared host steal is what makes one day's figures differ
 * from another's (50 % in some seconds here); every result carries it. stop() gives the shares in %.
 */
function cpuMeter() {
  const read = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const start = read();
  return () => {
    const delta = read().map((value, i) => value - start[i]);
    const total = delta.reduce((a, b) => a + b, 0) || 1;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = delta;
    const pct = (x) => Math.round((1000 * x) / total) / 10;
    return { busy_pct: pct(user + nice + system + irq + softirq), idle_pct: pct(idle + iowait), steal_pct: pct(steal) };
  };
}

/**
 * CPU time spent by each process group while a measurement runs, from /proc/<pid>/stat (user +
 * system, plus that of reaped children, so a worker's plugin processes count as the worker's).
 * `named` maps a group name to a pid (the apps); every other process is grouped by its command
 * name (postgres, redis-server, node for the load generator...). stop() gives CPU seconds per group,
 * largest first: where a benchmark's two cores went, which a rate alone does not say.
 */
function processCpu(named) {
  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const groupOf = Object.fromEntries(Object.entries(named).map(([name, pid]) => [String(pid), name]));
  const read = () => {
    const ticks = new Map();
    for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
      let stat;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue; // ended between the listing and the read
      }
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14-17 of stat(5), counted from the state (field 3) here: utime, stime, cutime, cstime.
      const used = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
      ticks.set(pid, { group: groupOf[pid] ?? comm, used });
    }
    return ticks;
  };
  const start = read();
  return () => {
    const seconds = {};
    for (const [pid, { group, used }] of read()) {
      const delta = used - (start.get(pid)?.used ?? 0);
      if (delta > 0) seconds[group] = (seconds[group] ?? 0) + delta / ticksPerSecond;
    }
    return Object.fromEntries(Object.entries(seconds).sort((a, b) => b[1] - a[1]).map(([group, s]) => [group, Math.round(s * 100) / 100]));
  };
}

/** Prints a line of progress on stderr, overwriting the last one on a terminal. */
function progress(text) {
  process.stderr.write(process.stderr.isTTY ? `\r${text}   ` : `${text}\n`);
}

function saveResult(name, result) {
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  const file = join(__dirname, 'results', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  return file;
}

function machine() {
  const os = require('node:os');
  return { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version };
}

/** Runs a benchmark's main; an error ends the process with exit code 1. */
function run(main) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

/** `call(path, token, body?)`: a GET, or a POST of `body` as JSON, to the API's /api/v1 on `port`. */
function apiCaller(port) {
  const base = `http://127.0.0.1:${port}/api/v1`;
  return (path, token, body) =>
    fetch(`${base}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body && JSON.stringify(body),
    });
}

module.exports = { ROOT, createEnvironment, waitFor, progress, rssMb, sampleMemory, cpuMeter, processCpu, saveResult, machine, run, apiCaller };
