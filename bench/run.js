#!/usr/bin/env node
// npm run bench -- <name> [args]: runs bench/<name>.js. Benchmarks print their figures and write
// them as JSON under bench/results/; they are never part of `npm test`.
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(__dirname).filter((f) => f.endsWith('.js') && !['run.js', 'harness.js'].includes(f)).map((f) => f.slice(0, -3));
if (!name || !existsSync(join(__dirname, `${name}.js`)) || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [args]`);
  process.exit(2);
}
process.argv = [process.argv[0], join(__dirname, `${name}.js`), ...args];
require(join(__dirname, `${name}.js`));
