/**
 * RapidPro API v2 simulator for tests: a real HTTP server on 127.0.0.1 (random port) that answers like RapidPro
 * (nyaruka/rapidpro, DRF 3.15) for the endpoints the RapidPro Bridge uses, records every request, and lets a test
 * inject faults (errors, throttling, delays, dropped connections, being down).
 *
 *   const sim = await startRapidProSimulator();
 *   // point the app at sim.url with token sim.token ...
 *   await sim.waitFor((s) => s.sent.length === 1);
 *   await sim.close();
 *
 * Behaviour notes (RapidPro facts, simplifications) are in harness/rapidpro-sim/README.md.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';

import type { RapidProSimulator, RapidProSimulatorOptions } from './types';
import type { Waiter } from './support';
import { SimRouter } from './router';

export * from './types';
export { codePointLength } from './fields';
export {
    DEFAULT_CONTACT_FIELDS,
    DEFAULT_TOKEN,
    DEFAULT_VERSION,
    MAX_UPLOAD_BYTES,
    MEDIA_CONTENT_TYPES,
    cleanMediaFilename,
    formatMicros,
    parseIsoMicros,
} from './support';

/**
 * The simulator: one HTTP server; the endpoints and concerns are layered, one file each: state < lookups <
 * faults < messages < broadcasts < contacts (media, contacts, workspace) < flowStarts < bodies < router < this.
 */
class Simulator extends SimRouter implements RapidProSimulator {
    protected server: http.Server;

    constructor(options: RapidProSimulatorOptions) {
        super(options);
        this.server = http.createServer((req, res) => {
            this.handle(req, res).catch(() => {
                if (!res.headersSent) {
                    try {
                        res.writeHead(500, { 'Content-Type': 'text/html; charset=utf-8' });
                        res.end('Server Error. Site administrators have been notified.');
                    } catch {
                        req.socket.destroy();
                    }
                }
            });
        });
        this.server.on('connection', (socket: Socket) => {
            if (this.down || this.closed) {
                this.refused++;
                socket.destroy();
                return;
            }
            this.sockets.add(socket);
            socket.on('close', () => this.sockets.delete(socket));
        });
        this.server.on('clientError', (_err: Error, socket: Socket) => socket.destroy());
    }

    waitFor(predicate: (sim: RapidProSimulator) => boolean, timeoutMs = 5000): Promise<void> {
        return new Promise<void>((resolve, reject) => {
            let done = false;
            const finish = (err?: Error): void => {
                if (done) return;
                done = true;
                clearTimeout(timer);
                this.waiters.delete(waiter);
                if (err) reject(err);
                else resolve();
            };
            const waiter: Waiter = {
                check: () => {
                    try {
                        if (predicate(this)) finish();
                    } catch (e) {
                        finish(e instanceof Error ? e : new Error(String(e)));
                    }
                },
                reject: (e) => finish(e),
            };
            const timer = setTimeout(
                () => finish(new Error(`rapidpro-sim: waitFor timed out after ${timeoutMs} ms (${this.requests.length} requests seen)`)),
                timeoutMs,
            );
            this.waiters.add(waiter);
            waiter.check();
        });
    }

    async listen(): Promise<void> {
        await new Promise<void>((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(0, '127.0.0.1', () => {
                this.server.off('error', reject);
                resolve();
            });
        });
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') throw new Error('rapidpro-sim: no address');
        this.port = addr.port;
        this.url = `http://127.0.0.1:${addr.port}`;
    }

    async close(): Promise<void> {
        if (this.closed) return;
        this.closed = true;
        for (const s of this.sleepers) {
            clearTimeout(s.timer);
            s.resolve();
        }
        this.sleepers.clear();
        for (const timer of this.statusTimers) clearTimeout(timer);
        this.statusTimers.clear();
        for (const w of [...this.waiters]) w.reject(new Error('rapidpro-sim: closed'));
        for (const s of this.sockets) s.destroy();
        this.sockets.clear();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
}

export async function startRapidProSimulator(options: RapidProSimulatorOptions = {}): Promise<RapidProSimulator> {
    const sim = new Simulator(options);
    await sim.listen();
    return sim;
}
