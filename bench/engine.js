// The container engine's own cycle, without the worker: create, attach, start, wait for the exit
// and remove the container the worker would run for the lifecycle's plugin (the same image,
// command and hardening as ContainerPluginRunner), K at a time; cycles per second. What the
// worker adds on top of the engine is the lifecycle's tasks/s against this at the same concurrency
// (`npm run bench -- lifecycle 200 8 --engine` runs both).
//   npm run bench -- engine [N=200] [concurrencies=1,4,8]
const Docker = require('dockerode');
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');
const { ROOT, progress, saveResult, machine, run } = require('./harness');

/** N cycles, `concurrency` at a time, on the engine at `socket`: cycles per second. */
async function engineCycles(socket, n, concurrency) {
  const docker = new Docker({ socketPath: socket });
  const cycle = async () => {
    const container = await docker.createContainer({
      Image: 'kat-busybox:latest', Cmd: ['true'], User: '65534:65534', Tty: false, AttachStdout: true, AttachStderr: true,
      HostConfig: {
        NetworkMode: 'none', ReadonlyRootfs: true, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'],
        Tmpfs: { '/tmp': 'rw,size=64m' }, Memory: 32 << 20, MemorySwap: 32 << 20, PidsLimit: 256, NanoCpus: 1e9,
      },
    });
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const exited = container.wait({ condition: 'next-exit' });
    await container.start();
    await exited;
    stream.destroy();
    await container.remove({ force: true, v: true });
  };
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < n) await cycle();
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return Math.round((n / seconds) * 100) / 100;
}

/** The engine's cycles per second at each concurrency, printed. */
async function engineBaseline(n, concurrencies) {
  const socket = process.env.DOCKER_SOCKET ?? execFileSync('bash', [join(ROOT, 'scripts/container-engine.sh')], { encoding: 'utf8' }).trim();
  const rows = [];
  for (const concurrency of concurrencies) {
    progress(`engine: ${n} container cycles, ${concurrency} at a time`);
    rows.push({ concurrency, cycles_per_second: await engineCycles(socket, n, concurrency) });
  }
  process.stderr.write('\n');
  console.log(`engine alone (create, attach, start, wait, remove of kat-busybox \`true\`), ${n} cycles: ` +
    rows.map((r) => `${r.cycles_per_second}/s at ${r.concurrency}`).join(', '));
  return rows;
}

module.exports = { engineBaseline };

if (process.argv[1] === __filename) {
  run(async () => {
    const [nArg, cArg] = process.argv.slice(2);
    const rows = await engineBaseline(Number(nArg ?? 200), (cArg ?? '1,4,8').split(',').map(Number));
    console.log(`saved ${saveResult('engine', { benchmark: 'engine', cycles: Number(nArg ?? 200), rows, machine: machine(), at: new Date().toISOString() })}`);
  });
}
