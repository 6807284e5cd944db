/**
 * The one reader of agent options: precedence (flag, `COMMITLOG_<KEY>`, config file key,
 * default, as options.ts states) and per-kind validation from the option table, with every
 * problem collected (one per line) and named by where its value came from (`--key`,
 * `COMMITLOG_KEY` or `key (config file)`).
 *
 * The resolvers (base-config.ts for every node, config.ts for the cluster options) ask it
 * for typed values and add their rules between options to the same problem list.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { envName, optionSpec, type OptionSpec } from './options.js';

/** Thrown with every problem found, one per line. */
export class AgentConfigError extends Error {
  readonly code = 'invalid-agent-config';
  constructor(readonly problems: readonly string[]) {
    super(`invalid agent configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'AgentConfigError';
  }
}

/** Where a raw value came from. */
export type OptionSource = 'flag' | 'env' | 'config file' | 'default';

/** A raw value and where it came from. */
export interface RawOption {
  readonly value: unknown;
  readonly source: OptionSource;
  /** How a message names it: `--key`, `COMMITLOG_KEY` or `key (config file)`. */
  readonly where: string;
}

/** The three sources of option values. */
export interface OptionSources {
  /** Flags given on the command line, by option key. */
  readonly flags: Readonly<Record<string, unknown>>;
  readonly env: NodeJS.ProcessEnv;
  /** The config file's mapping (readConfigFile). */
  readonly file: Readonly<Record<string, unknown>>;
}

/** Reads typed option values from {@link OptionSources}; collects problems in {@link problems}. */
export class OptionReader {
  /** Every problem found so far, in the order the options were read. */
  readonly problems: string[] = [];

  constructor(private readonly sources: OptionSources) {}

  private spec(key: string): OptionSpec {
    const spec = optionSpec(key);
    if (spec === undefined) throw new Error(`no agent option "${key}" (options.ts)`);
    return spec;
  }

  /** The raw value by precedence, or undefined when no source and no default has one. */
  raw(key: string): RawOption | undefined {
    const { flags, env, file } = this.sources;
    if (flags[key] !== undefined) return { value: flags[key], source: 'flag', where: `--${key}` };
    const e = env[envName(key)];
    if (e !== undefined && e !== '') return { value: e, source: 'env', where: envName(key) };
    if (file[key] !== undefined && file[key] !== null)
      return { value: file[key], source: 'config file', where: `${key} (config file)` };
    const spec = this.spec(key);
    return spec.default !== undefined ? { value: spec.default, source: 'default', where: `--${key}` } : undefined;
  }

  /** A string (a number in YAML is taken as its text; a YAML list as its items joined by commas). */
  str(key: string): string | undefined {
    const r = this.raw(key);
    if (r === undefined) return undefined;
    if (Array.isArray(r.value)) return r.value.map(String).join(',');
    if (typeof r.value !== 'string' && typeof r.value !== 'number') {
      this.problems.push(`${r.where}: expected a string`);
      return undefined;
    }
    return String(r.value);
  }

  /** The items of a comma-separated list (or YAML list), trimmed, empty items dropped. */
  list(key: string): string[] {
    return (this.str(key) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  /** An integer in the option's [min, max]; min when missing or invalid. */
  int(key: string): number {
    const spec = this.spec(key);
    const min = spec.min ?? 0;
    const max = spec.max ?? Number.MAX_SAFE_INTEGER;
    const r = this.raw(key);
    const n = typeof r?.value === 'number' ? r.value : Number(r?.value);
    if (r === undefined || !Number.isSafeInteger(n) || n < min || n > max) {
      this.problems.push(
        `${r?.where ?? `--${key}`}: expected an integer in [${min}, ${max}], got ${JSON.stringify(r?.value)}`,
      );
      return min;
    }
    return n;
  }

  /** true/false (also 1/0 from the environment); false when missing. */
  bool(key: string): boolean {
    const r = this.raw(key);
    if (r === undefined) return false;
    if (typeof r.value === 'boolean') return r.value;
    if (r.value === 'true' || r.value === '1') return true;
    if (r.value === 'false' || r.value === '0') return false;
    this.problems.push(`${r.where}: expected true or false, got ${JSON.stringify(r.value)}`);
    return false;
  }

  /** One of the option's choices; the first choice when missing or invalid. */
  choice<T extends string>(key: string): T {
    const choices = (this.spec(key).choices ?? []) as readonly T[];
    const r = this.raw(key);
    const v = this.str(key) ?? '';
    if ((choices as readonly string[]).includes(v)) return v as T;
    this.problems.push(`${r?.where ?? `--${key}`}: expected one of ${choices.join('|')}, got ${JSON.stringify(v)}`);
    return choices[0] as T;
  }

  /** A path; a problem when no file is there (the path is still returned). */
  file(key: string): string | undefined {
    const p = this.str(key);
    if (p !== undefined && !existsSync(p)) this.problems.push(`${this.raw(key)?.where}: file ${p} does not exist`);
    return p;
  }

  /** Throws {@link AgentConfigError} if any problem was found. */
  check(): void {
    if (this.problems.length > 0) throw new AgentConfigError(this.problems);
  }
}

/**
 * Reads and checks the YAML config file: a mapping whose keys are all in `knownKeys`.
 * @throws AgentConfigError naming the file for unreadable or non-YAML content, a document
 * that is not a mapping, and every unknown key.
 */
export function readConfigFile(path: string, knownKeys: readonly string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AgentConfigError([`--config-file ${path}: ${(err as Error).message}`]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new AgentConfigError([`--config-file ${path}: not valid YAML: ${(err as Error).message}`]);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new AgentConfigError([`--config-file ${path}: must be a YAML mapping of option: value`]);
  const known = new Set<string>(knownKeys);
  const unknown = Object.keys(doc).filter((k) => !known.has(k));
  if (unknown.length > 0)
    throw new AgentConfigError(unknown.map((k) => `--config-file ${path}: unknown option "${k}"`));
  return doc as Record<string, unknown>;
}
