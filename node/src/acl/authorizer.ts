/**
 * Access control with Casbin (the book's ACL model: `r = sub, obj, act`). The subject is
 * the client certificate's CN, the object is "*", the action one of {@link Actions}.
 * Model and policy files are reloaded when they change on disk; a change that does not
 * parse keeps the previous rules (and is reported), so a bad edit never opens or closes
 * the service by accident.
 */
import { readFileSync } from 'node:fs';
import { newEnforcer, newModelFromString, StringAdapter, type Enforcer } from 'casbin';
import { FileWatcher } from '../tls/file-watcher.js';

/** The actions the service checks. */
export const Actions = { produce: 'produce', consume: 'consume', admin: 'admin' } as const;
/** One of {@link Actions}. */
export type Action = (typeof Actions)[keyof typeof Actions];

/** The object every rule names (the whole log). */
export const ACL_OBJECT = '*';

/** Decides whether a subject may perform an action. Must be cheap: called on every RPC. */
export interface Authorizer {
  authorize(subject: string, action: Action): boolean;
}

/** An authorizer that allows everything (no ACL configured). */
export const allowAll: Authorizer = { authorize: () => true };

/** Thrown when the ACL files cannot be read or parsed. */
export class AclFilesError extends Error {
  readonly code = 'ACL_FILES';
  constructor(message: string) {
    super(message);
    this.name = 'AclFilesError';
  }
}

/** Paths of a Casbin model and policy. */
export interface AclFiles {
  readonly modelFile: string;
  readonly policyFile: string;
}

async function load(files: AclFiles): Promise<Enforcer> {
  let modelText: string;
  let policyText: string;
  try {
    modelText = readFileSync(files.modelFile, 'utf8');
    policyText = readFileSync(files.policyFile, 'utf8');
  } catch (err) {
    throw new AclFilesError(`cannot read ACL files: ${(err as Error).message}`);
  }
  try {
    return await newEnforcer(newModelFromString(modelText), new StringAdapter(policyText));
  } catch (err) {
    throw new AclFilesError(
      `invalid ACL model ${files.modelFile} or policy ${files.policyFile}: ${(err as Error).message}`,
    );
  }
}

/**
 * A Casbin authorizer over files, reloaded on change. Decisions are cached per
 * (subject, action) until the next reload, so the hot path is one Map lookup.
 */
export class CasbinAuthorizer implements Authorizer {
  private cache = new Map<string, boolean>();
  private watcher: FileWatcher | undefined;
  private reloading: Promise<void> = Promise.resolve();
  /** Successful reloads since open (tests, metrics). */
  reloads = 0;

  private constructor(
    private enforcer: Enforcer,
    private readonly files: AclFiles,
  ) {}

  /**
   * Loads the files (throws {@link AclFilesError}) and, when `watch` is true, reloads them
   * when they change. `onReload` hears about every reload attempt (null = success).
   */
  static async open(
    files: AclFiles,
    opts: { watch?: boolean; onReload?: (err: unknown | null) => void } = {},
  ): Promise<CasbinAuthorizer> {
    const authz = new CasbinAuthorizer(await load(files), files);
    if (opts.watch ?? true) {
      const onReload = opts.onReload ?? (() => {});
      authz.watcher = new FileWatcher(
        [files.modelFile, files.policyFile],
        () => {
          authz.reloading = authz.reload().then(() => onReload(null), onReload);
        },
        onReload,
        { pollMs: 60_000 },
      );
    }
    return authz;
  }

  /** Reloads model and policy now; keeps the old rules if the new ones do not load. */
  async reload(): Promise<void> {
    this.enforcer = await load(this.files);
    this.cache = new Map();
    this.reloads++;
  }

  /** Resolves when the reload started by the last file change has finished (tests). */
  settled(): Promise<void> {
    return this.reloading;
  }

  authorize(subject: string, action: Action): boolean {
    const key = `${action}\0${subject}`;
    let ok = this.cache.get(key);
    if (ok === undefined) {
      ok = this.enforcer.enforceSync(subject, ACL_OBJECT, action);
      // Subjects are CNs of verified certificates, so few; the cap only guards memory.
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(key, ok);
    }
    return ok;
  }

  /** Stops watching the files. */
  close(): void {
    this.watcher?.close();
  }
}
