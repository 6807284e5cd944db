/**
 * Gossip encryption keyring (memberlist `keyring.go`): AES-256 keys, the first is the
 * primary that encrypts; every installed key may decrypt, so a new key can be installed
 * everywhere, then made primary, then the old one removed — rotation without a partition.
 */

/** AES-256 key length in bytes. */
export const KEY_BYTES = 32;

/** Keyring misuse (bad key length, removing the primary …). */
export class KeyringError extends Error {
  readonly code = 'keyring';
  constructor(message: string) {
    super(message);
    this.name = 'KeyringError';
  }
}

function check(key: Uint8Array): Uint8Array {
  if (key.length !== KEY_BYTES)
    throw new KeyringError(`gossip key must be ${KEY_BYTES} bytes (AES-256), got ${key.length}`);
  return Uint8Array.from(key);
}

/** Decodes a base64 key as used in config files and Secrets. */
export function keyFromBase64(b64: string): Uint8Array {
  return check(Buffer.from(b64, 'base64'));
}

/** A mutable set of keys with one primary. */
export class Keyring {
  private keys: Uint8Array[];

  /** Creates a keyring; `keys[0]` is the primary. At least one key. */
  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new KeyringError('a keyring needs at least one key');
    this.keys = keys.map(check);
  }

  /** The key that encrypts outgoing packets. */
  get primary(): Uint8Array {
    return this.keys[0] as Uint8Array;
  }

  /** All keys, primary first; tried in order when decrypting. */
  get all(): readonly Uint8Array[] {
    return this.keys;
  }

  /** Installs a key for decryption (no-op if present). */
  install(key: Uint8Array): void {
    const k = check(key);
    if (!this.keys.some((x) => Buffer.from(x).equals(k))) this.keys.push(k);
  }

  /** Makes an installed key the primary. */
  use(key: Uint8Array): void {
    const i = this.keys.findIndex((x) => Buffer.from(x).equals(key));
    if (i < 0) throw new KeyringError('cannot use a key that is not installed');
    const [k] = this.keys.splice(i, 1);
    this.keys.unshift(k as Uint8Array);
  }

  /** Removes a non-primary key. */
  remove(key: Uint8Array): void {
    if (Buffer.from(this.primary).equals(key)) throw new KeyringError('cannot remove the primary key');
    this.keys = this.keys.filter((x) => !Buffer.from(x).equals(key));
  }
}
