// One run's view of a pooled method process. The sandbox supervises "its" child process: it
// listens for messages, output, 'exit' and 'close', sends, and kills. A lease gives it exactly
// that for one attempt on a process that may serve several: it forwards the real process's
// events while the attempt lasts, asks the child to stay for another run, and when the child
// says it completed and can be reused, ends the attempt as if the process had exited with code 0
// — the real process goes back to the pool. Anything else (a cancel or a kill from the sandbox, a
// failed attempt, a child that says it cannot be reused) and the real process exits, and the
// sandbox sees that exit as before.
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { ChildMessage, ParentMessage } from './method-process.ts';

export class ProcessLease extends EventEmitter {
  readonly stdout = new EventEmitter();
  readonly stderr = new EventEmitter();
  private active = true;
  /** The sandbox cancelled or killed: whatever the child says, it is not reused. */
  private interfered = false;
  private readonly forwarded: Array<[EventEmitter, string, (...args: unknown[]) => void]> = [];

  constructor(
    private readonly real: ChildProcess,
    /** The attempt ended; returns whether the pool keeps the process for another run. */
    private readonly giveBack: (reusable: boolean) => boolean,
  ) {
    super();
    this.listen(real, 'message', (message: ChildMessage) => this.onMessage(message));
    this.listen(real, 'error', (error: Error) => this.emit('error', error));
    this.listen(real, 'exit', (code: number | null, signal: NodeJS.Signals | null) => this.emit('exit', code, signal));
    this.listen(real, 'close', (code: number | null, signal: NodeJS.Signals | null) => {
      this.end(false);
      this.emit('close', code, signal);
    });
    if (real.stdout) this.listen(real.stdout, 'data', (chunk: Buffer) => this.stdout.emit('data', chunk));
    if (real.stderr) this.listen(real.stderr, 'data', (chunk: Buffer) => this.stderr.emit('data', chunk));
  }

  get pid(): number | undefined {
    return this.real.pid;
  }

  get connected(): boolean {
    return this.active && this.real.connected;
  }

  get exitCode(): number | null {
    return this.real.exitCode;
  }

  get signalCode(): NodeJS.Signals | null {
    return this.real.signalCode;
  }

  send(message: ParentMessage, handle?: undefined, options?: object, callback?: (error: Error | null) => void): boolean {
    if (!this.active) return false;
    if (message.type === 'cancel') this.interfered = true;
    const sent = message.type === 'start' ? { ...message, reuse: true } : message;
    return this.real.send(sent, handle, options ?? {}, callback);
  }

  kill(signal?: NodeJS.Signals | number): boolean {
    if (!this.active) return false;
    this.interfered = true;
    return this.real.kill(signal);
  }

  /** What the sandbox holds: the parts of a ChildProcess it uses. */
  asChildProcess(): ChildProcess {
    return this as unknown as ChildProcess;
  }

  private onMessage(message: ChildMessage): void {
    this.emit('message', message);
    if (message.type !== 'done' || !message.reusable) return;
    const kept = this.giveBackOnce(!this.interfered && message.outcome.status === 'COMPLETED');
    if (!kept) {
      // Still waiting for a run: ask it to leave; its exit ends this attempt.
      this.real.send({ type: 'retire' } satisfies ParentMessage, undefined, {}, () => {});
      return;
    }
    this.detach();
    // The run's messages have all arrived (they come in order, 'done' last): end it as a clean exit.
    setImmediate(() => {
      this.emit('exit', 0, null);
      this.emit('close', 0, null);
    });
  }

  private given = false;
  private giveBackOnce(reusable: boolean): boolean {
    if (this.given) return false;
    this.given = true;
    return this.giveBack(reusable);
  }

  private end(reusable: boolean): void {
    this.giveBackOnce(reusable);
    this.detach();
  }

  private detach(): void {
    if (!this.active) return;
    this.active = false;
    for (const [emitter, event, listener] of this.forwarded.splice(0)) emitter.off(event, listener);
  }

  private listen<Args extends unknown[]>(emitter: EventEmitter, event: string, listener: (...args: Args) => void): void {
    const untyped = listener as (...args: unknown[]) => void;
    emitter.on(event, untyped);
    this.forwarded.push([emitter, event, untyped]);
  }
}
