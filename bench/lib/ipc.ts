/**
 * The child side of a bench worker: runs the subject's method named by each IPC message, answers
 * `{ id, ok, result }` or `{ id, ok: false, error }`, and exits after `stop`.
 */
export function serveOverIpc(subject: object): void {
    type Command = { id: number; cmd: string; args?: unknown };
    process.on('message', async (message: Command) => {
        try {
            const fn = (subject as Record<string, (a: unknown) => Promise<unknown>>)[message.cmd];
            const result = await fn.call(subject, message.args ?? {});
            process.send!({ id: message.id, ok: true, result });
            if (message.cmd === 'stop') {
                setTimeout(() => process.exit(0), 50);
            }
        } catch (error) {
            process.send!({
                id: message.id,
                ok: false,
                error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error),
            });
        }
    });
    process.send!({ ready: true });
}
