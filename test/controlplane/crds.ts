/**
 * Installing CustomResourceDefinitions from YAML files and waiting until the API server
 * serves them (condition Established=True), as a real cluster does before any operator
 * may use them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiException,
  ApiextensionsV1Api,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

/** Field manager of every object the test fixture applies. */
export const fixtureFieldManager = 'commitlog-test-fixture';

/**
 * Parses every non-empty YAML document of `text` into objects (throws on YAML errors), in
 * @kubernetes/client-node's *model* form: known kinds are deserialized into the generated
 * classes, whose field names differ from the wire names in places (`default` → `_default`,
 * `x-kubernetes-validations` → `xKubernetesValidations`…). That is the form
 * `KubernetesObjectApi` expects: it serializes by kind and silently drops wire-named fields
 * it does not know, which would strip a CRD of its defaults and CEL rules.
 */
export function parseManifests(text: string, source = 'manifest'): KubernetesObject[] {
  const out: KubernetesObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || !('kind' in v) || !('apiVersion' in v))
      throw new Error(`${source}: a document has no apiVersion/kind`);
    // JSON is YAML: loadYaml does the model deserialization for us.
    out.push(loadYaml<KubernetesObject>(JSON.stringify(v)));
  }
  return out;
}

/** The CRDs in every *.yaml / *.yml file of `dir` (none when the folder has none). */
export function readCrds(dir: string): V1CustomResourceDefinition[] {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return files.flatMap((f) =>
    parseManifests(readFileSync(join(dir, f), 'utf8'), join(dir, f)).filter(
      (o): o is V1CustomResourceDefinition => o.kind === 'CustomResourceDefinition',
    ),
  );
}

/**
 * Server-side applies `objects` (force, field manager {@link fixtureFieldManager});
 * `dryRun` sends `dryRun=All`, so the API server validates and admits without persisting.
 */
export async function applyObjects(
  kc: KubeConfig,
  objects: readonly KubernetesObject[],
  opts: { dryRun?: boolean } = {},
): Promise<KubernetesObject[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const out: KubernetesObject[] = [];
  for (const o of objects) {
    out.push(
      await api.patch(
        o,
        undefined,
        opts.dryRun === true ? 'All' : undefined,
        fixtureFieldManager,
        true,
        PatchStrategy.ServerSideApply,
      ),
    );
  }
  return out;
}

/** Thrown when the API server refuses a CRD; `message` is the API server's own explanation. */
export class CrdInstallError extends Error {
  readonly code = 'crd-install' as const;
  constructor(
    readonly crd: string,
    readonly status: number,
    readonly apiMessage: string,
  ) {
    super(`the API server refused CRD ${crd} (HTTP ${status}): ${apiMessage}`);
    this.name = 'CrdInstallError';
  }
}

/** Applies the CRDs and waits until each is Established; returns their names. Throws {@link CrdInstallError}. */
export async function installCrds(
  kc: KubeConfig,
  crds: readonly V1CustomResourceDefinition[],
  timeoutMs = 30_000,
): Promise<string[]> {
  for (const crd of crds) {
    try {
      await applyObjects(kc, [crd]);
    } catch (e) {
      if (!(e instanceof ApiException)) throw e;
      throw new CrdInstallError(crd.metadata?.name ?? '(unnamed)', e.code, statusMessage(e.body));
    }
  }
  const names = crds.map((c) => c.metadata?.name ?? '');
  await waitForCrdsEstablished(kc, names, timeoutMs);
  return names;
}

/** Polls until every named CRD has condition Established=True. */
export async function waitForCrdsEstablished(
  kc: KubeConfig,
  names: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.find((c) => c.type === 'Established');
      if (established?.status === 'True') break;
      if (Date.now() > deadline) {
        throw new Error(
          `CRD ${name} not Established after ${timeoutMs} ms; conditions: ${JSON.stringify(crd.status?.conditions ?? [])}`,
        );
      }
      await sleep(100);
    }
  }
}

/**
 * Judges an install manifest: applies each object on its own — Namespaces for real, so the
 * namespaced objects after them have a home; everything else as a server-side dry run — and
 * returns one line per object the API server refused, with its reason (empty = all accepted).
 */
export async function refusedObjects(kc: KubeConfig, objects: readonly KubernetesObject[]): Promise<string[]> {
  const refused: string[] = [];
  for (const o of objects) {
    try {
      await applyObjects(kc, [o], { dryRun: o.kind !== 'Namespace' });
    } catch (e) {
      if (!(e instanceof ApiException)) throw e;
      refused.push(`${o.kind}/${o.metadata?.name}: HTTP ${e.code} ${statusMessage(e.body)}`);
    }
  }
  return refused;
}

/** The `message` of a Kubernetes Status body (a JSON string or object), else the body itself. */
function statusMessage(body: unknown): string {
  try {
    const v: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    if (typeof v === 'object' && v !== null && 'message' in v && typeof v.message === 'string') return v.message;
  } catch {
    // Not JSON: fall through.
  }
  return String(body);
}
