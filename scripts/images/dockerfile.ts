/**
 * Reads node/Dockerfile and operator/Dockerfile as data, so that the daemonless image build
 * (`npm run images`) installs what the Dockerfiles say instead of a second copy of it.
 *
 * Only the shape the two Dockerfiles use is understood: a build stage (`FROM … AS build`) that
 * copies sources, runs `npx tsc <entry> …` and `npm prune <flags>`, and a runtime stage of
 * WORKDIR, ENV, COPY --from=build, RUN, USER, EXPOSE, ENTRYPOINT and CMD. Anything else is a
 * {@link DockerfileError}, so a Dockerfile edit the builder does not follow fails loudly
 * instead of producing an image that differs from `docker build`.
 */

/** A Dockerfile the builder cannot follow; `line` is 1-based. */
export class DockerfileError extends Error {
  readonly code = 'dockerfile' as const;
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`Dockerfile line ${line}: ${message}`);
    this.name = 'DockerfileError';
  }
}

/** One instruction after joining continuation lines. */
export interface Instruction {
  readonly line: number;
  readonly op: string;
  readonly args: string;
}

/** A step of the runtime stage, in Dockerfile order. */
export type RuntimeStep =
  | { readonly type: 'copy'; readonly from: string; readonly src: string; readonly dest: string }
  | { readonly type: 'run'; readonly command: string };

/** What the runtime stage of a Dockerfile says about the image. */
export interface ImageSpec {
  /** The base image of the runtime stage, e.g. `node:24-bookworm-slim`. */
  readonly base: string;
  readonly workdir: string;
  readonly env: readonly (readonly [string, string])[];
  readonly user: string;
  /** `8400/tcp`, `8401/udp`, … (a bare port is TCP). */
  readonly exposedPorts: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly steps: readonly RuntimeStep[];
  /** The build stage: repository paths it copies (relative to the context root). */
  readonly buildSources: readonly string[];
  /** The build stage's `npx tsc …` arguments (entry point and flags, `--outDir` included). */
  readonly tscArgs: readonly string[];
  /** The build stage's `npm prune` flags: which dependencies the image leaves out. */
  readonly pruneFlags: readonly string[];
}

/** Splits a Dockerfile into instructions (comments dropped, `\` continuations joined). */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let l = lines[i] ?? '';
    if (/^\s*(#|$)/.test(l)) continue;
    let joined = '';
    while (/\\\s*$/.test(l)) {
      joined += l.replace(/\\\s*$/, ' ');
      i++;
      l = lines[i] ?? '';
      while (/^\s*#/.test(l)) {
        i++;
        l = lines[i] ?? '';
      }
    }
    joined += l;
    const m = /^\s*(\S+)\s*(.*)$/.exec(joined);
    if (m === null) continue;
    out.push({ line: first, op: (m[1] ?? '').toUpperCase(), args: (m[2] ?? '').trim().replace(/\s+/g, ' ') });
  }
  return out;
}

function jsonArray(ins: Instruction): string[] {
  let v: unknown;
  try {
    v = JSON.parse(ins.args);
  } catch {
    throw new DockerfileError(ins.line, `${ins.op} must use the JSON (exec) form, got: ${ins.args}`);
  }
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new DockerfileError(ins.line, `${ins.op} must be a JSON array of strings`);
  }
  return v as string[];
}

function resolveIn(workdir: string, p: string): string {
  if (p.startsWith('/')) return p;
  const parts = [...workdir.split('/'), ...p.split('/')].filter((s) => s !== '' && s !== '.');
  return '/' + parts.join('/');
}

/** Parses a Dockerfile of the shape described in the module comment. */
export function parseDockerfile(text: string): ImageSpec {
  const all = instructions(text);
  const froms = all.map((x, i) => [x, i] as const).filter(([x]) => x.op === 'FROM');
  if (froms.length !== 2)
    throw new DockerfileError(
      all[0]?.line ?? 1,
      `expected a build stage and a runtime stage, found ${froms.length} FROM lines`,
    );
  const [[buildFrom, bi], [runFrom, ri]] = froms as [[Instruction, number], [Instruction, number]];
  if (!/\sAS\s+build$/i.test(buildFrom.args))
    throw new DockerfileError(buildFrom.line, 'the first stage must be `FROM … AS build`');

  const buildSources: string[] = [];
  let tscArgs: string[] | null = null;
  let pruneFlags: string[] | null = null;
  for (const ins of all.slice(bi + 1, ri)) {
    if (ins.op === 'COPY') {
      const parts = ins.args.split(' ');
      buildSources.push(...parts.slice(0, -1));
    } else if (ins.op === 'RUN') {
      for (const cmd of ins.args.split('&&').map((s) => s.trim())) {
        const words = cmd.split(' ');
        if (words[0] === 'npx' && words[1] === 'tsc') tscArgs = words.slice(2);
        if (words[0] === 'npm' && words[1] === 'prune')
          pruneFlags = words.slice(2).filter((w) => w.startsWith('--omit='));
      }
    } else if (ins.op !== 'WORKDIR') {
      throw new DockerfileError(ins.line, `the build stage may only use WORKDIR, COPY and RUN, not ${ins.op}`);
    }
  }
  if (tscArgs === null) throw new DockerfileError(buildFrom.line, 'the build stage has no `npx tsc …` command');
  if (pruneFlags === null) throw new DockerfileError(buildFrom.line, 'the build stage has no `npm prune …` command');

  let workdir = '/';
  const env: [string, string][] = [];
  let user = '';
  const exposedPorts: string[] = [];
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  const steps: RuntimeStep[] = [];
  for (const ins of all.slice(ri + 1)) {
    switch (ins.op) {
      case 'WORKDIR':
        workdir = resolveIn(workdir, ins.args);
        break;
      case 'ENV': {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(ins.args);
        if (m === null) throw new DockerfileError(ins.line, 'ENV must be a single KEY=value');
        env.push([m[1] ?? '', m[2] ?? '']);
        break;
      }
      case 'COPY': {
        const m = /^--from=(\S+) (\S+) (\S+)$/.exec(ins.args);
        if (m === null) throw new DockerfileError(ins.line, 'runtime COPY must be `COPY --from=<stage> <src> <dest>`');
        const src = m[2] ?? '';
        const rawDest = m[3] ?? '';
        // As docker: a destination ending in `/` (or `.`) is a directory the source goes into.
        const dest = /(\/|^\.)$/.test(rawDest)
          ? resolveIn(workdir, `${rawDest}/${src.split('/').pop() ?? ''}`)
          : resolveIn(workdir, rawDest);
        steps.push({ type: 'copy', from: m[1] ?? '', src, dest });
        break;
      }
      case 'RUN':
        steps.push({ type: 'run', command: ins.args });
        break;
      case 'USER':
        user = ins.args;
        break;
      case 'EXPOSE':
        for (const p of ins.args.split(' ')) exposedPorts.push(p.includes('/') ? p : `${p}/tcp`);
        break;
      case 'ENTRYPOINT':
        entrypoint = jsonArray(ins);
        break;
      case 'CMD':
        cmd = jsonArray(ins);
        break;
      default:
        throw new DockerfileError(ins.line, `the image builder does not support ${ins.op} in the runtime stage`);
    }
  }
  if (user === '')
    throw new DockerfileError(runFrom.line, 'the runtime stage must set USER (the image runs as non-root)');
  if (entrypoint.length === 0) throw new DockerfileError(runFrom.line, 'the runtime stage must set ENTRYPOINT');
  return {
    base: runFrom.args,
    workdir,
    env,
    user,
    exposedPorts,
    entrypoint,
    cmd,
    steps,
    buildSources,
    tscArgs,
    pruneFlags,
  };
}

/** The Debian suite and Node major version a `node:<major>-<suite>-slim` base stands for. */
export function baseOf(spec: ImageSpec): { readonly nodeMajor: number; readonly suite: string } {
  const m = /^node:(\d+)-([a-z]+)-slim$/.exec(spec.base);
  if (m === null) throw new DockerfileError(0, `runtime base must be node:<major>-<suite>-slim, got ${spec.base}`);
  return { nodeMajor: Number(m[1]), suite: m[2] ?? '' };
}
