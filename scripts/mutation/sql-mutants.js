#!/usr/bin/env node
'use strict';
/**
 * SQL mutation testing: what Stryker cannot do, because our SQL is text to it.
 *
 * For each SQL string of a source file (template or string literal with SELECT/UPDATE/DELETE/
 * INSERT), every `WHERE` clause and every `JOIN … ON` condition is split into its top-level `AND`
 * conjuncts (parentheses, string literals, comments, `${…}` substitutions and nested SELECTs
 * respected; `BETWEEN … AND …` kept whole; `ON CONFLICT (…) WHERE` index predicates left alone),
 * and each conjunct gives one mutant with that conjunct removed. Conditions built in code and
 * joined with `' AND '` (`where.push('…')`, `add('t.status = ?', …)`) are mutants too.
 *
 * A removed conjunct becomes `(TRUE OR (<conjunct>) IS NULL)`: TRUE for PostgreSQL (which folds it
 * away when planning), but every `$n` it used is still referenced with the same type, so the
 * statement stays valid (a bare TRUE would fail with "could not determine data type of parameter").
 * A condition added by a helper call (`add(…)`) is removed with its parameter: the call becomes
 * `undefined`.
 *
 * Each mutant runs in ONE copy of the working tree (made once, in a temp dir; node_modules is a
 * symlink), never in the tree itself: the file is mutated there, the test files that cover it run
 * one by one (Jest `--bail`; the first to fail kills the mutant, and is recorded with its failing
 * test), and the file is restored. Test files that start the built apps (`spawnApp`) get the
 * copy's dist rebuilt from the mutated source first.
 *
 * A survivor that is acceptable is explained in the source, beside the conjunct:
 *   WHERE id = $1
 *     AND organization_id = $2 -- mutation: <why removing this cannot be observed>
 * (`// mutation: …` for a condition built in TypeScript). The comment must follow the conjunct on
 * its last line (only `)`, `,`, `;` or a quote between), or sit inside a multi-line conjunct.
 * Such a mutant is reported "explained" when it survives (and flagged when a test kills it).
 *
 * Usage: node scripts/mutation/sql-mutants.js [options]
 *   (no --file)        task.repository.ts of libs/domain, task lifecycle statements only
 *   --all              every source file with SQL (also: MUTATION_SQL_ALL=1)
 *   --file <path>      only this file (repeatable); all its statements
 *   --method <a,b>     only statements in these methods/functions
 *   --filter <text>    only statements whose SQL contains text
 *   --list             print the mutants, run nothing
 *   --tests <a,b>      test files to run instead of the mapping
 *   --no-baseline      do not run the tests unmutated first (they must pass, and give durations)
 *   --skip-explained   do not run explained mutants
 *   --out <file>       JSON report (default reports/sql-mutants.json)
 *   --rev <commit>     copy that commit (git archive) instead of the working tree, e.g. a baseline of HEAD
 *   --keep-copy        leave the temp copy for inspection
 *   --strict           exit 1 when a mutant survives unexplained
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const ts = require('typescript');

const ROOT = path.resolve(__dirname, '../..');

/** The default run: the task lifecycle statements of TaskRepository (found by name: its folder moves). */
const DEFAULT_FILE = 'task.repository.ts';
const LIFECYCLE_METHODS = ['CLAIM', 'heartbeat', 'FINISH', 'saveLog', 'handBack', 'transitionInScope', 'recoverStale', 'findById', 'list', 'filterSql'];

/**
 * Test files that exercise each source file, tried in this order (cheap, direct ones first); the
 * grep of test imports adds others. Missing files are skipped, so a test can be listed before it exists.
 */
const TEST_OVERRIDES = [
  [/tasks?\/task\.repository\.ts$/, ['test/task-claims', 'test/tenant-isolation', 'test/task-lifecycle', 'test/task-recovery', 'test/web-pages', 'test/task-state', 'test/plugin-settings', 'test/dispatch']],
  [/plugins\/plugin-setting\.repository\.ts$/, ['test/plugin-settings', 'test/tenant-isolation']],
  [/schedules\/schedule\.repository\.ts$/, ['test/scheduling', 'test/scheduler-replicas', 'test/tenant-isolation']],
  [/tasks\/scheduled-task-inserts\.ts$/, ['test/scheduling', 'test/scheduler-replicas', 'test/tenant-isolation']],
  [/scheduler-state\.repository\.ts$/, ['test/scheduler-replicas', 'test/scheduling', 'test/web-pages']],
  [/objects\/object\.repository\.ts$/, ['test/objects', 'test/tenant-isolation', 'test/builtin-plugins', 'test/business-rules']],
  [/rules\//, ['test/business-rules', 'test/findings-report']],
  [/reports\//, ['test/findings-report', 'test/business-rules', 'test/tenant-isolation']],
  [/plugin-token\.service\.ts$/, ['test/objects']],
  [/api-token\.repository\.ts$/, ['test/tenant-isolation', 'test/task-lifecycle', 'test/objects', 'test/web-pages']],
  [/object-sets?\//, ['test/scheduling', 'test/tenant-isolation', 'test/findings-report']],
  [/database\//, ['test/task-recovery', 'test/task-lifecycle']],
  [/organizations?\/|plugins?\/plugin\.repository\.ts$/, ['test/tenant-isolation', 'test/task-lifecycle', 'test/objects']],
  [/apps\/api\/src\/auth\//, ['test/tenant-isolation', 'test/objects', 'test/task-lifecycle', 'test/web-pages']],
  [/job-runner\.ts$|scheduling\/src\/|apps\/scheduler\/src\//, ['test/scheduler-replicas', 'test/scheduling']],
  [/apps\/cli\/src\/|apps\/worker\/src\/cli/, ['test/task-recovery']],
  [/apps\/api\/src\/tasks\//, ['test/tenant-isolation', 'test/task-lifecycle', 'test/web-pages']],
  [/apps\/api\/src\/(web|metrics)\//, ['test/web-pages']],
  [/libs\/(queue|runtime|execution)\/src\//, ['test/task-recovery', 'test/task-lifecycle']],
];

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const o = { files: [], methods: null, filter: null, list: false, tests: null, baseline: true, skipExplained: false,
    out: path.join(ROOT, 'reports', 'sql-mutants.json'), keepCopy: false, rev: null, strict: false, all: process.env.MUTATION_SQL_ALL === '1' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--all') o.all = true;
    else if (a === '--file') o.files.push(path.relative(ROOT, path.resolve(value())));
    else if (a === '--method') o.methods = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--filter') o.filter = value();
    else if (a === '--list') o.list = true;
    else if (a === '--tests') o.tests = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--no-baseline') o.baseline = false;
    else if (a === '--skip-explained') o.skipExplained = true;
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--keep-copy') o.keepCopy = true;
    else if (a === '--rev') o.rev = value();
    else if (a === '--strict') o.strict = true;
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(__filename, 'utf8').split('\n').filter((l) => l.startsWith(' *')).slice(0).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown option ${a} (see --help)`);
  }
  if (o.files.length === 0 && !o.all) {
    o.defaultRun = true;
    if (!o.methods) o.methods = LIFECYCLE_METHODS;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Finding SQL and its conjuncts

const MASK = '\u00a7'; // stands in for each character of a ${…} substitution: an opaque word to the SQL scanner

function walkFiles(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walkFiles(full, out);
    else out.push(full);
  }
  return out;
}

/** Source files holding SQL: apps and libs, without migrations, entities and tests. */
function sqlSourceFiles(root) {
  return ['apps', 'libs']
    .filter((d) => fs.existsSync(path.join(root, d)))
    .flatMap((d) => walkFiles(path.join(root, d)))
    .map((f) => path.relative(root, f))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts') && !f.endsWith('.entity.ts') && !f.includes('/migrations/'))
    .filter((f) => /\b(SELECT|UPDATE|DELETE|INSERT)\b/.test(fs.readFileSync(path.join(root, f), 'utf8')))
    .sort();
}

/** Name of the method, function or constant a node is in. */
function enclosingName(node) {
  for (let n = node.parent; n; n = n.parent) {
    if ((ts.isMethodDeclaration(n) || ts.isFunctionDeclaration(n) || ts.isGetAccessor(n)) && n.name) return n.name.getText();
    if (ts.isConstructorDeclaration(n)) return 'constructor';
    if ((ts.isVariableDeclaration(n) || ts.isPropertyDeclaration(n) || ts.isPropertyAssignment(n)) && n.name && ts.isIdentifier(n.name)) {
      // An arrow function kept in a variable inside a method is part of that method.
      if (n.initializer && (ts.isArrowFunction(n.initializer) || ts.isFunctionExpression(n.initializer))) {
        const outer = enclosingName(n);
        if (outer !== '(top level)') return outer;
      }
      if (!ts.isVariableDeclaration(n) || isTopLevel(n)) return n.name.getText();
    }
  }
  return '(top level)';
}

function isTopLevel(decl) {
  for (let n = decl.parent; n; n = n.parent) {
    if (ts.isFunctionLike(n) || ts.isClassLike(n)) return false;
  }
  return true;
}

/** The text between a literal's delimiters, with each `${…}` substitution masked. */
function literalText(node, sf) {
  const start = node.getStart(sf) + 1;
  const end = node.getEnd() - 1;
  const raw = sf.text.slice(start, end);
  if (!ts.isTemplateExpression(node)) return { start, raw, masked: raw };
  const chars = raw.split('');
  for (const span of node.templateSpans) {
    const from = span.expression.pos - 2 - start; // the `${`
    const to = span.literal.getStart(sf) + 1 - start; // through the `}`
    for (let i = from; i < to; i++) chars[i] = MASK;
  }
  return { start, raw, masked: chars.join('') };
}

/** Tokens of (masked) SQL: words, params, strings, comments, punctuation, with paren depth. */
function tokenize(sql) {
  const tokens = [];
  let depth = 0;
  let i = 0;
  const push = (type, start, end, extra = {}) => tokens.push({ type, start, end, text: sql.slice(start, end), depth, ...extra });
  while (i < sql.length) {
    const c = sql[i];
    const start = i;
    if (/\s/.test(c)) {
      while (i < sql.length && /\s/.test(sql[i])) i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      push('comment', start, i);
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
      push('comment', start, i);
    } else if (c === "'" || c === '"') {
      i++;
      while (i < sql.length) {
        if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      i++;
      push(c === "'" ? 'string' : 'word', start, i);
    } else if (c === '$' && /[A-Za-z_]/.test(sql[i + 1] ?? '') && /^\$[A-Za-z_]\w*\$/.test(sql.slice(i))) {
      const tag = /^\$[A-Za-z_]\w*\$/.exec(sql.slice(i))[0];
      const close = sql.indexOf(tag, i + tag.length);
      i = close < 0 ? sql.length : close + tag.length;
      push('string', start, i);
    } else if (c === '$' && sql[i + 1] === '$') {
      const close = sql.indexOf('$$', i + 2);
      i = close < 0 ? sql.length : close + 2;
      push('string', start, i);
    } else if (c === '$') {
      i++;
      while (i < sql.length && (/\d/.test(sql[i]) || sql[i] === MASK)) i++;
      push('param', start, i);
    } else if (/[A-Za-z_\d]/.test(c) || c === MASK) {
      while (i < sql.length && (/[\w]/.test(sql[i]) || sql[i] === MASK)) i++;
      push('word', start, i, { upper: sql.slice(start, i).toUpperCase() });
    } else if (c === '(') {
      push('(', start, ++i);
      depth++;
    } else if (c === ')') {
      depth--;
      push(')', start, ++i);
    } else {
      push('punct', start, ++i);
    }
  }
  return tokens;
}

const WHERE_END = new Set(['RETURNING', 'ORDER', 'GROUP', 'LIMIT', 'OFFSET', 'HAVING', 'WINDOW', 'UNION', 'INTERSECT', 'EXCEPT', 'FOR', 'ON', 'DO', 'FETCH']);
const ON_END = new Set([...WHERE_END, 'JOIN', 'LEFT', 'RIGHT', 'INNER', 'FULL', 'CROSS', 'NATURAL', 'WHERE']);

/** WHERE clauses and JOIN … ON conditions of one SQL string, each split into top-level AND conjuncts. */
function findClauses(sql) {
  const all = tokenize(sql);
  const sig = all.filter((t) => t.type !== 'comment');
  const clauses = [];
  for (let k = 0; k < sig.length; k++) {
    const t = sig[k];
    if (t.type !== 'word' || (t.upper !== 'WHERE' && t.upper !== 'ON')) continue;
    const prev = sig[k - 1];
    const next = sig[k + 1];
    if (t.upper === 'ON' && (!next || ['CONFLICT', 'CONSTRAINT', 'COMMIT', 'DELETE', 'UPDATE'].includes(next.upper) || prev?.upper === 'DISTINCT')) continue;
    if (t.upper === 'ON' && !isJoinOn(sig, k)) continue;
    if (t.upper === 'WHERE' && prev?.type === ')' && isConflictTarget(sig, k - 1)) continue;
    const ends = t.upper === 'WHERE' ? WHERE_END : ON_END;
    const body = [];
    for (let m = k + 1; m < sig.length; m++) {
      const u = sig[m];
      if (u.depth < t.depth || (u.type === ')' && u.depth <= t.depth - 1)) break;
      if (u.depth === t.depth && ((u.type === 'word' && ends.has(u.upper)) || (u.type === 'punct' && (u.text === ';' || u.text === ',')))) break;
      // A whole `${…}` right after a complete operand is the next part of the statement, not of this condition.
      if (u.type === 'word' && isSubstitution(u) && body.length > 0 && isOperand(body[body.length - 1])) break;
      body.push(u);
    }
    if (body.length === 0) continue;
    const conjuncts = [];
    let current = [];
    let between = false;
    for (const u of body) {
      if (u.depth === t.depth && u.type === 'word' && u.upper === 'BETWEEN') between = true;
      if (u.depth === t.depth && u.type === 'word' && u.upper === 'AND') {
        if (between) between = false;
        else {
          if (current.length) conjuncts.push(current);
          current = [];
          continue;
        }
      }
      current.push(u);
    }
    if (current.length) conjuncts.push(current);
    clauses.push({
      keyword: t.upper === 'WHERE' ? 'WHERE' : 'ON',
      start: body[0].start,
      end: body[body.length - 1].end,
      conjuncts: conjuncts.map((c) => ({ start: c[0].start, end: c[c.length - 1].end })),
    });
  }
  return clauses;
}

const OPERATOR_WORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'LIKE', 'ILIKE', 'BETWEEN', 'ANY', 'ALL', 'SOME', 'EXISTS', 'CASE', 'WHEN', 'THEN', 'ELSE',
  'SELECT', 'WHERE', 'ON', 'DISTINCT', 'FROM', 'SIMILAR', 'TO']);
const isSubstitution = (t) => t.text.split('').every((ch) => ch === MASK);
const isOperand = (t) => t.type === 'param' || t.type === 'string' || t.type === ')' || (t.type === 'word' && !OPERATOR_WORDS.has(t.upper));

/** ON of a JOIN (not of ON CONFLICT, DISTINCT ON, …): a JOIN at the same depth before it, after any WHERE/SELECT. */
function isJoinOn(sig, k) {
  const depth = sig[k].depth;
  for (let m = k - 1; m >= 0; m--) {
    const u = sig[m];
    if (u.depth < depth) return false;
    if (u.depth > depth || u.type !== 'word') continue;
    if (u.upper === 'JOIN') return true;
    if (['WHERE', 'SELECT', 'ON', 'SET', 'VALUES', 'INTO'].includes(u.upper)) return false;
  }
  return false;
}

/** Is the `)` at sig[k] the end of `ON CONFLICT (…)`? */
function isConflictTarget(sig, k) {
  const depth = sig[k].depth;
  for (let m = k - 1; m >= 0; m--) {
    if (sig[m].type === '(' && sig[m].depth === depth) return sig[m - 1]?.upper === 'CONFLICT';
  }
  return false;
}

const EXPLAIN_AFTER = /^[\s)\]'"`,;]*(?:--|\/\/)\s*mutation:\s*(.*)$/;
const EXPLAIN_INSIDE = /(?:--|\/\/)\s*mutation:\s*(.*)/;

/** The `-- mutation: <why>` (or `// mutation:`) comment explaining a conjunct, or null. */
function explanation(text, start, end) {
  const inside = EXPLAIN_INSIDE.exec(text.slice(start, end));
  if (inside) return inside[1].trim();
  const lineEnd = text.indexOf('\n', end);
  const after = EXPLAIN_AFTER.exec(text.slice(end, lineEnd < 0 ? text.length : lineEnd));
  return after ? after[1].trim() : null;
}

const lineOf = (text, offset) => text.slice(0, offset).split('\n').length;
const oneLine = (s) => s.replace(/\s+/g, ' ').trim();

/** Every mutant of one source file. */
function findMutants(root, file) {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const mutants = [];
  const add = (m) => {
    const explained = explanation(text, m.start, m.end);
    mutants.push({ file, line: lineOf(text, m.start), explanation: explained, ...m });
  };

  // Arrays of conditions joined with ' AND ', and helpers that push onto them.
  const joined = new Set();
  const visitJoins = (node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'join'
      && ts.isIdentifier(node.expression.expression) && node.arguments.length === 1 && ts.isStringLiteralLike(node.arguments[0])
      && /^\s*AND\s*$/i.test(node.arguments[0].text)) joined.add(node.expression.expression.text);
    ts.forEachChild(node, visitJoins);
  };
  visitJoins(sf);
  const isPushOntoJoined = (node) => ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)
    && node.expression.name.text === 'push' && ts.isIdentifier(node.expression.expression) && joined.has(node.expression.expression.text);
  const helpers = new Map(); // helper name → its function node
  const visitHelpers = (node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer
      && (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))) {
      let pushes = false;
      const look = (n) => {
        if (isPushOntoJoined(n)) pushes = true;
        ts.forEachChild(n, look);
      };
      look(node.initializer);
      if (pushes) helpers.set(node.name.text, node.initializer);
    }
    ts.forEachChild(node, visitHelpers);
  };
  visitHelpers(sf);
  const insideHelper = (node) => {
    for (let n = node.parent; n; n = n.parent) if ([...helpers.values()].includes(n)) return true;
    return false;
  };
  const functionText = (node) => {
    for (let n = node.parent; n; n = n.parent) if (ts.isFunctionLike(n) && !ts.isArrowFunction(n)) return n.getText(sf);
    return sf.text;
  };
  const literalMutant = (lit, kind) => {
    const { start, raw } = literalText(lit, sf);
    if (!/[=<>]|\bIS\b|\bIN\b|\bLIKE\b|\bEXISTS\b|\bANY\b/i.test(raw)) return; // a column name or such, not a condition
    add({ statement: enclosingName(lit), clause: kind, conjunct: oneLine(raw), start, end: start + raw.length,
      replacement: `(TRUE OR (${raw}) IS NULL)`, sql: functionText(lit) });
  };

  const visit = (node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) {
      const { start, raw, masked } = literalText(node, sf);
      if (/\b(SELECT|UPDATE|DELETE|INSERT)\b/.test(masked) || /^\s*(NOT\s+)?EXISTS\s*\(/.test(masked)) {
        for (const clause of findClauses(masked)) {
          for (const c of clause.conjuncts) {
            const body = raw.slice(c.start, c.end);
            // `WHERE ${where.join(' AND ')}`: its conditions are mutants one by one (see below).
            if (/^\$\{\s*(\w+)\.join\(\s*' AND '\s*\)\s*\}$/.test(body) && joined.has(/\w+/.exec(body.slice(2))[0])) continue;
            add({
              statement: enclosingName(node),
              clause: clause.keyword,
              conjunct: oneLine(body),
              start: start + c.start,
              end: start + c.end,
              replacement: `(TRUE OR (${body}) IS NULL)`,
              sql: raw,
            });
          }
        }
      }
    }
    if (isPushOntoJoined(node) && !insideHelper(node)) {
      for (const arg of node.arguments) if (ts.isStringLiteralLike(arg) || ts.isTemplateExpression(arg)) literalMutant(arg, 'WHERE (built)');
    }
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && joined.has(node.name.text) && node.initializer && ts.isArrayLiteralExpression(node.initializer)) {
      for (const el of node.initializer.elements) if (ts.isStringLiteralLike(el) || ts.isTemplateExpression(el)) literalMutant(el, 'WHERE (built)');
    }
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && helpers.has(node.expression.text)) {
      add({ statement: enclosingName(node), clause: 'WHERE (built)', conjunct: oneLine(node.getText(sf)), start: node.getStart(sf), end: node.getEnd(),
        replacement: 'undefined', sql: functionText(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  mutants.sort((a, b) => a.start - b.start);
  return mutants;
}

// ---------------------------------------------------------------------------------------------
// Which tests cover a file

function allTestFiles(root) {
  const e2e = fs.existsSync(path.join(root, 'test')) ? fs.readdirSync(path.join(root, 'test')).filter((f) => f.endsWith('.e2e-spec.ts')).map((f) => `test/${f}`) : [];
  const unit = ['apps', 'libs'].filter((d) => fs.existsSync(path.join(root, d))).flatMap((d) => walkFiles(path.join(root, d)))
    .map((f) => path.relative(root, f)).filter((f) => f.endsWith('.spec.ts'));
  return [...e2e, ...unit].sort();
}

function resolveTest(root, name) {
  for (const candidate of [name, `${name}.e2e-spec.ts`, `${name}.spec.ts`]) if (fs.existsSync(path.join(root, candidate)) && fs.statSync(path.join(root, candidate)).isFile()) return candidate;
  return null;
}

/** Override table first, in its order; then test files that import the file or name what it exports. */
function testsFor(root, file, missing) {
  const listed = TEST_OVERRIDES.filter(([pattern]) => pattern.test(file)).flatMap(([, tests]) => tests);
  const tests = [];
  for (const name of listed) {
    const found = resolveTest(root, name);
    if (found) tests.push(found);
    else missing.add(name);
  }
  const sf = ts.createSourceFile(file, fs.readFileSync(path.join(root, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const exported = [];
  for (const st of sf.statements) {
    const isExported = ts.canHaveModifiers(st) && (ts.getModifiers(st) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!isExported) continue;
    if ((ts.isClassDeclaration(st) || ts.isFunctionDeclaration(st)) && st.name) exported.push(st.name.text);
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) exported.push(d.name.text);
  }
  const base = path.basename(file, '.ts');
  for (const test of allTestFiles(root)) {
    if (tests.includes(test)) continue;
    const text = fs.readFileSync(path.join(root, test), 'utf8');
    if (new RegExp(`from '[^']*/${base.replace(/[.]/g, '\\.')}'`).test(text) || exported.some((n) => new RegExp(`\\b${n}\\b`).test(text))) tests.push(test);
  }
  return tests;
}

// ---------------------------------------------------------------------------------------------
// Running

function makeCopy(rev) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kat-sql-mutants-'));
  if (rev) {
    const archive = spawnSync('git', ['-C', ROOT, 'archive', '--format=tar', rev], { maxBuffer: 1 << 30 });
    if (archive.status !== 0) throw new Error(`git archive ${rev}: ${archive.stderr}`);
    const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
    if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    return dir;
  }
  const skip = new Set(['node_modules', 'dist', '.git', 'reports', 'test-output', '.stryker-tmp', 'coverage']);
  fs.cpSync(ROOT, dir, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(ROOT, src);
      return rel === '' || !skip.has(rel.split(path.sep)[0]);
    },
  });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Nest projects a test file starts as processes from dist (spawnApp('worker/main') → worker). */
function builtAppsOf(copy, test) {
  const text = fs.readFileSync(path.join(copy, test), 'utf8');
  const projects = new Set();
  for (const m of text.matchAll(/spawnApp\(\s*'([\w-]+)\/([\w-]+)'/g)) projects.add(m[2] === 'cli' ? 'kat' : m[1]);
  return [...projects];
}

function runProcess(command, args, cwd, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', CI: 'true' } });
    let output = '';
    child.stdout.on('data', (d) => (output = (output + d).slice(-200_000)));
    child.stderr.on('data', (d) => (output = (output + d).slice(-200_000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

/** One Jest run of one test file in the copy: passed, or the first failing test and why. */
async function runTest(copy, test, timeoutMs) {
  const resultFile = path.join(copy, '.sql-mutants-jest.json');
  fs.rmSync(resultFile, { force: true });
  const started = Date.now();
  const { code, output, timedOut } = await runProcess(process.execPath, [
    path.join(copy, 'node_modules/jest/bin/jest.js'), '--config', 'jest.config.js', '--runInBand', '--bail', '--ci', '--forceExit',
    '--json', '--outputFile', resultFile, '--runTestsByPath', test,
  ], copy, timeoutMs);
  const seconds = (Date.now() - started) / 1000;
  if (timedOut) return { passed: false, seconds, killedBy: `${test} (timed out after ${Math.round(timeoutMs / 1000)} s)`, failure: 'timeout' };
  let report = null;
  try {
    report = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
  } catch {
    /* no report: jest itself failed */
  }
  const text = output.replace(/\u001b\[[0-9;]*m/g, '');
  if (code === 0 && (report ? report.success : /^Tests: .*\d+ passed/m.test(text) && !/\d+ failed/.test(text))) return { passed: true, seconds };
  // The JSON report when Jest wrote it (with --forceExit it sometimes does not), else Jest's own output.
  const suite = report?.testResults?.[0];
  const failed = suite?.assertionResults?.find((a) => a.status === 'failed');
  let name = failed ? failed.fullName : null;
  let message = failed?.failureMessages?.[0] ?? suite?.message ?? '';
  if (!report) {
    const bullet = /^\s*● (.+)$\n([\s\S]*?)(?=^\s*● |^Test Suites:|(?![\s\S]))/m.exec(text);
    if (bullet && !/Test suite failed to run/.test(bullet[1])) name = bullet[1].replace(/ › /g, ' ');
    message = bullet ? bullet[2] : text;
  }
  const firstLine = message.replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).find((l) => l && !/^●/.test(l)) ?? '';
  return { passed: false, seconds, killedBy: name ? `${test} › ${name}` : `${test} (suite failed to run)`, failure: firstLine.slice(0, 200) };
}

async function buildApps(copy, projects) {
  for (const project of projects) {
    const { code, output } = await runProcess(process.execPath, [path.join(copy, 'node_modules/@nestjs/cli/bin/nest.js'), 'build', project], copy, 600_000);
    if (code !== 0) return `nest build ${project} failed: ${output.slice(-500)}`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Reporting

function pad(s, n) {
  s = String(s);
  return s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}

function table(mutants) {
  const rows = mutants.map((m) => [`${path.basename(m.file)}:${m.line}`, m.statement, m.clause, m.conjunct, m.result ?? (m.explanation ? 'explained?' : '-'), m.killedBy ?? (m.explanation ? `(${m.explanation})` : '')]);
  const widths = [28, 20, 13, 60, 10, 0];
  const head = ['where', 'statement', 'clause', 'conjunct removed', 'result', 'killing test / explanation'];
  return [head, ...rows].map((r) => r.map((c, i) => (widths[i] ? pad(c, widths[i]) : c)).join(' ')).join('\n');
}

function summary(mutants) {
  const count = (r) => mutants.filter((m) => m.result === r).length;
  const ran = mutants.filter((m) => m.result && m.result !== 'skipped' && m.result !== 'no tests');
  const killed = count('killed') + count('timeout');
  const score = ran.length ? ((killed + count('explained')) / ran.length) * 100 : 0;
  return { mutants: mutants.length, killed: count('killed'), timeout: count('timeout'), survived: count('survived'), explained: count('explained'), skipped: count('skipped'),
    noTests: count('no tests'), pending: mutants.filter((m) => !m.result).length,
    score: Math.round(score * 10) / 10 };
}

function writeReport(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(data, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const copy = options.list ? ROOT : makeCopy(options.rev);
  try {
    await run(options, copy);
  } finally {
    if (copy !== ROOT && !options.keepCopy) fs.rmSync(copy, { recursive: true, force: true });
  }
}

async function run(options, copy) {
  const started = Date.now();
  const stamp = () => `[${new Date().toISOString().slice(11, 19)} +${Math.round((Date.now() - started) / 1000)}s]`;
  const files = options.defaultRun
    ? sqlSourceFiles(copy).filter((f) => path.basename(f) === DEFAULT_FILE && f.startsWith('libs/domain/'))
    : options.all && options.files.length === 0 ? sqlSourceFiles(copy) : options.files;
  if (files.length === 0) throw new Error(`no ${DEFAULT_FILE} under libs/domain`);
  let mutants = files.flatMap((f) => {
    if (!fs.existsSync(path.join(copy, f))) throw new Error(`no such file: ${f}`);
    return findMutants(copy, f);
  });
  if (options.methods) mutants = mutants.filter((m) => options.methods.includes(m.statement));
  if (options.filter) mutants = mutants.filter((m) => m.sql.includes(options.filter));
  mutants.forEach((m, i) => (m.id = i + 1));

  const missing = new Set();
  const given = options.tests?.map((t) => resolveTest(copy, t) ?? (missing.add(t), null)).filter(Boolean);
  const testsByFile = new Map(files.map((f) => [f, given ?? testsFor(copy, f, missing)]));
  if (options.list) {
    console.log(table(mutants));
    console.log(`\n${mutants.length} mutants in ${files.length} file(s); ${mutants.filter((m) => m.explanation).length} explained in the source.`);
    for (const [f, t] of testsByFile) console.log(`${f}: ${t.join(', ') || '(no tests found)'}`);
    if (missing.size) console.log(`listed but missing (skipped): ${[...missing].join(', ')}`);
    return;
  }

  console.log(`${stamp()} copy of ${options.rev ? `commit ${options.rev}` : 'the working tree'}: ${copy}`);
  console.log(`${stamp()} ${mutants.length} mutants in ${files.join(', ')}`);
  for (const [f, t] of testsByFile) console.log(`${stamp()} ${f} → ${t.join(', ') || '(no tests found)'}`);
  if (missing.size) console.log(`${stamp()} listed but missing (skipped): ${[...missing].join(', ')}`);

  const report = { started: new Date(started).toISOString(), finished: null, partial: true, root: ROOT, copy, options, tests: Object.fromEntries(testsByFile),
    missingTests: [...missing], baseline: {}, summary: null, mutants: [] };
  const save = () => {
    report.summary = summary(mutants);
    report.mutants = mutants.map(({ sql, ...m }) => m);
    writeReport(options.out, report);
  };

  const distBuiltFor = new Map(); // Nest project → id of the mutant its dist was built from (0: unmutated)
  const ensureDist = async (test, mutantId) => {
    const stale = builtAppsOf(copy, test).filter((p) => distBuiltFor.get(p) !== mutantId);
    if (stale.length === 0) return null;
    const problem = await buildApps(copy, stale);
    for (const p of stale) if (problem) distBuiltFor.delete(p); else distBuiltFor.set(p, mutantId);
    return problem;
  };

  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      console.log(`\n${signal}: stopping; the report keeps what was done`);
      save();
      if (!options.keepCopy) fs.rmSync(copy, { recursive: true, force: true });
      process.exit(130);
    });
  }

  // Baseline: every test file must pass unmutated; their durations order the runs.
  const duration = new Map();
  const usable = new Set();
  const allTests = [...new Set([...testsByFile.values()].flat())];
  for (const test of allTests) {
    if (!options.baseline) {
      usable.add(test);
      continue;
    }
    const problem = await ensureDist(test, 0);
    const result = problem ? { passed: false, seconds: 0, failure: problem } : await runTest(copy, test, 900_000);
    report.baseline[test] = { passed: result.passed, seconds: result.seconds, failure: result.failure };
    console.log(`${stamp()} baseline ${test}: ${result.passed ? 'passes' : `FAILS (${result.killedBy}: ${result.failure}) — left out`} in ${Math.round(result.seconds)} s`);
    if (result.passed) {
      usable.add(test);
      duration.set(test, result.seconds);
    }
    save();
  }

  const kills = new Map(); // `${file}#${statement}` → Map(test → kills)
  for (const m of mutants) {
    if (m.explanation && options.skipExplained) {
      m.result = 'skipped';
      continue;
    }
    const file = path.join(copy, m.file);
    const original = fs.readFileSync(file, 'utf8');
    const key = `${m.file}#${m.statement}`;
    const affinity = kills.get(key) ?? new Map();
    const tests = testsByFile.get(m.file).filter((t) => usable.has(t))
      .map((t, i) => ({ t, i }))
      .sort((a, b) => (affinity.get(b.t) ?? 0) - (affinity.get(a.t) ?? 0) || (duration.get(a.t) ?? a.i) - (duration.get(b.t) ?? b.i) || a.i - b.i)
      .map(({ t }) => t);
    const mutantStarted = Date.now();
    m.testsRun = [];
    fs.writeFileSync(file, original.slice(0, m.start) + m.replacement + original.slice(m.end));
    try {
      for (const test of tests) {
        const problem = await ensureDist(test, m.id);
        if (problem) {
          m.result = 'killed';
          m.killedBy = `nest build (${test})`;
          m.failure = problem.slice(0, 200);
          break;
        }
        const timeout = Math.max(300_000, (duration.get(test) ?? 300) * 3000);
        const r = await runTest(copy, test, timeout);
        m.testsRun.push({ test, passed: r.passed, seconds: Math.round(r.seconds) });
        if (!r.passed) {
          m.result = r.failure === 'timeout' ? 'timeout' : 'killed';
          m.killedBy = r.killedBy;
          m.failure = r.failure;
          affinity.set(test, (affinity.get(test) ?? 0) + 1);
          kills.set(key, affinity);
          break;
        }
      }
      if (!m.result) m.result = tests.length === 0 ? 'no tests' : m.explanation ? 'explained' : 'survived';
      if (m.explanation && m.result !== 'explained') m.note = 'explained in the source, but a test kills it: the comment is stale';
    } finally {
      fs.writeFileSync(file, original);
    }
    m.seconds = Math.round((Date.now() - mutantStarted) / 1000);
    const done = mutants.filter((x) => x.result).length;
    console.log(`${stamp()} [${done}/${mutants.length}] ${path.basename(m.file)}:${m.line} ${m.statement} ${m.clause}: ${m.conjunct} → ${m.result.toUpperCase()}`
      + `${m.killedBy ? ` by ${m.killedBy}` : ''}${m.failure ? ` (${m.failure})` : ''}${m.explanation ? ` [explained: ${m.explanation}]` : ''} in ${m.seconds} s`);
    save();
  }

  report.finished = new Date().toISOString();
  report.partial = false;
  save();
  console.log(`\n${table(mutants)}\n`);
  const s = summary(mutants);
  console.log(`SQL mutants: ${s.mutants}, killed ${s.killed + s.timeout} (timeouts ${s.timeout}), survived ${s.survived}, explained ${s.explained}, skipped ${s.skipped}, without tests ${s.noTests}; score ${s.score}%`);
  console.log(`report: ${path.relative(ROOT, options.out)}; ${Math.round((Date.now() - started) / 1000)} s`);
  if (options.strict && s.survived > 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(2);
});
