import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * The rules of docs/ARCHITECTURE.md that a machine can check: which room may import which, and
 * where SQL may run. A rule broken here is a structure bug, whatever the other tests say.
 */
const ROOT = resolve(__dirname, '../..');

interface SourceFile {
  path: string; // relative to the repository, with /
  room: string; // apps/<app> or libs/<lib>
  text: string;
  imports: string[];
}

function sourceFiles(dir: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.spec.ts')) {
        const path = relative(ROOT, full).split(sep).join('/');
        const text = readFileSync(full, 'utf8');
        const imports = [
          ...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)|\brequire\(\s*'([^']+)'\s*\)/g),
        ].map((m) => m[1] ?? m[2] ?? m[3]);
        files.push({ path, room: path.split('/').slice(0, 2).join('/'), text, imports });
      }
    }
  };
  walk(join(ROOT, dir));
  return files;
}

const FILES = [...sourceFiles('apps'), ...sourceFiles('libs')];

/** The room a relative or @kat/ import lands in. */
function targetRoom(file: SourceFile, specifier: string): string | null {
  const lib = /^@kat\/([a-z-]+)/.exec(specifier);
  if (lib) return `libs/${lib[1]}`;
  if (!specifier.startsWith('.')) return null; // a package
  const target = relative(ROOT, resolve(ROOT, dirname(file.path), specifier))
    .split(sep)
    .join('/');
  return target.split('/').slice(0, 2).join('/');
}

/** Which rooms each room may import (besides itself and packages). */
const MAY_IMPORT: Record<string, string[]> = {
  'libs/domain': [],
  'libs/queue': ['libs/domain'],
  'libs/runtime': ['libs/domain', 'libs/queue'],
  'libs/execution': ['libs/domain', 'libs/queue', 'libs/runtime'],
  'libs/scheduling': ['libs/domain', 'libs/queue', 'libs/runtime'],
};
/** Apps may import every lib, and no other app. */
const allowed = (room: string): string[] => MAY_IMPORT[room] ?? Object.keys(MAY_IMPORT);

describe('the rooms of the code (docs/ARCHITECTURE.md)', () => {
  it('finds the apps and the libs', () => {
    const rooms = new Set(FILES.map((f) => f.room));
    expect([...rooms].sort()).toEqual([
      'apps/api',
      'apps/cli',
      'apps/scheduler',
      'apps/worker',
      ...Object.keys(MAY_IMPORT).sort(),
    ]);
  });

  it('lets no app import another app, and no lib import an app or a lib it may not', () => {
    const wrong = FILES.flatMap((file) =>
      file.imports
        .map((specifier) => ({ specifier, room: targetRoom(file, specifier) }))
        .filter(({ room }) => room !== null && room !== file.room && !allowed(file.room).includes(room))
        .map(({ specifier, room }) => `${file.path} imports ${specifier} (${room})`),
    );
    expect(wrong).toEqual([]);
  });

  it('runs SQL only in the repositories of libs/domain', () => {
    const DATA_ACCESS =
      /\.query\(|createQueryRunner|createQueryBuilder|getRepository\(|@InjectRepository|@InjectDataSource/;
    const outside = FILES.filter((f) => f.room !== 'libs/domain' && DATA_ACCESS.test(f.text)).map((f) => f.path);
    expect(outside).toEqual([]);
  });

  it('keeps HTTP documentation (@nestjs/swagger) in the api', () => {
    const outside = FILES.filter((f) => f.room !== 'apps/api' && f.imports.includes('@nestjs/swagger')).map(
      (f) => f.path,
    );
    expect(outside).toEqual([]);
  });
});
