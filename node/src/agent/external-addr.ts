/**
 * Follows this node's entry of the external-address file (`--external-addr-file`): the
 * operator writes the file (a ConfigMap key, mounted) only once the pod's external Service
 * has an address, usually after the pod started, and the file is not part of the pod
 * template's hash — so the node must pick the change up while running.
 *
 * Polling, not fs.watch: the kubelet updates a ConfigMap volume by swapping a symlinked
 * directory, which inotify on the file itself does not report reliably. A read that fails
 * or does not parse keeps the current address (a half-updated file is not an answer).
 */
import { externalAddrOf } from './config.js';
import { isHostPort } from '../net/address.js';

/** Polls `path` every `periodMs` and calls `onChange` when this node's entry changes. */
export class ExternalAddrWatcher {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly nodeName: string,
    private current: string | undefined,
    private readonly onChange: (addr: string | undefined) => void,
    private readonly periodMs = 5000,
  ) {}

  /** Starts polling. */
  start(): void {
    this.timer = setInterval(() => this.check(), this.periodMs);
    this.timer.unref();
  }

  /** Reads the file once now; calls `onChange` if this node's entry differs from the last one. */
  check(): void {
    const problems: string[] = [];
    const next = externalAddrOf(this.path, this.nodeName, problems);
    if (problems.length > 0 || next === this.current) return;
    if (next !== undefined && !isHostPort(next)) return;
    this.current = next;
    this.onChange(next);
  }

  /** Stops polling. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
