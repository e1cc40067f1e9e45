/** One benchmark subject process (bench/run.js --worker | --cluster-worker), driven over IPC. */
import { type ChildProcess, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export class WorkerHandle {
    private readonly child: ChildProcess;
    private nextId = 1;
    // biome-ignore lint/suspicious/noExplicitAny: worker results are untyped JSON over IPC
    private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
    private readonly ready: Promise<void>;

    /** The worker's stderr (the engine prints every failed app call there, with its logs): kept out of the table. */
    public readonly logFile: string;
    public stderrBytes = 0;

    constructor(
        public readonly kind: string,
        flag: '--worker' | '--cluster-worker',
    ) {
        this.child = fork(path.join(__dirname, '..', 'run.js'), [flag], {
            stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
            env: { ...process.env, NODE_ENV: 'production' },
            execArgv: ['--max-old-space-size=4096'],
        });
        this.logFile = path.join(os.tmpdir(), `rapidpro-bench-${kind}-${process.pid}.log`);
        const out = fs.createWriteStream(this.logFile);
        this.child.stderr!.on('data', (chunk: Buffer) => {
            this.stderrBytes += chunk.length;
            out.write(chunk);
        });
        this.ready = new Promise((resolve, reject) => {
            this.child.once('exit', (code) => reject(new Error(`${kind} worker exited (${code})`)));
            // biome-ignore lint/suspicious/noExplicitAny: worker results are untyped JSON over IPC
            this.child.on('message', (m: any) => {
                if (m?.ready) {
                    resolve();
                    return;
                }
                const p = this.pending.get(m.id);
                if (!p) {
                    return;
                }
                this.pending.delete(m.id);
                if (m.ok) {
                    p.resolve(m.result);
                } else {
                    p.reject(new Error(`[${kind} worker] ${m.error}`));
                }
            });
        });
        this.child.on('exit', (code) => {
            for (const p of this.pending.values()) {
                p.reject(new Error(`${kind} worker exited (${code})`));
            }
            this.pending.clear();
        });
    }

    // biome-ignore lint/suspicious/noExplicitAny: worker results are untyped JSON over IPC
    async call<T = any>(cmd: string, args: unknown = {}): Promise<T> {
        await this.ready;
        const id = this.nextId++;
        return new Promise<T>((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            this.child.send({ id, cmd, args });
        });
    }

    kill(): void {
        if (this.child.exitCode === null) {
            this.child.kill('SIGKILL');
        }
    }
}
