'use strict';
// What every built-in plugin shares: its input, its settings, and how it reports objects.
// Objects go to stdout, one JSON line each (the worker ingests them); anything else goes to stderr.

const input = JSON.parse(process.env.KAT_INPUT_JSON || '{}');

/** A plugin setting (KAT_SETTING_<NAME>), or `fallback`. */
function setting(name, fallback) {
  const value = process.env[`KAT_SETTING_${name.toUpperCase()}`];
  return value === undefined || value === '' ? fallback : value;
}

function emit(objectType, fields) {
  process.stdout.write(`${JSON.stringify({ object_type: objectType, ...fields })}\n`);
}

function log(message) {
  process.stderr.write(`${message}\n`);
}

/** Runs `main`; an error ends the plugin with exit code 1 and its message as the last stderr line. */
function run(main) {
  main().then(
    () => process.exit(0),
    (error) => {
      log(error && error.message ? error.message : String(error));
      process.exit(1);
    },
  );
}

module.exports = { input, setting, emit, log, run };
